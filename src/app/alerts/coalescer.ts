import type { Alert } from '../../core/alert.js';

/**
 * Storm control: an alert goes out at once, and the same alert (kind, provider, next provider)
 * again within `windowMs` of it is folded into it — counted, not sent. The next one after the
 * window goes out carrying that count (`folded`). One process's memory: separate CLI runs each
 * send their own. A circuit opening is raised once by the runner already; this only stops
 * concurrent sends that saw it open at the same moment from repeating it.
 */
export class AlertCoalescer {
  private readonly last = new Map<string, { sentAt: number; folded: number }>();

  constructor(private readonly windowMs: number) {}

  /** undefined: fold it; otherwise send it, with how many were folded since the last one. */
  admit(alert: Alert, now: number): { folded: number } | undefined {
    const key = [alert.kind, alert.provider, alert.nextProvider ?? ''].join('\u0000');
    const previous = this.last.get(key);
    if (previous && this.windowMs > 0 && now - previous.sentAt < this.windowMs) {
      previous.folded++;
      return undefined;
    }
    this.last.set(key, { sentAt: now, folded: 0 });
    return { folded: previous?.folded ?? 0 };
  }
}
