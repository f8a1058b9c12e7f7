import type { Config } from '../../config/types.js';
import type { EventRepository } from '../../store/ports.js';
import { AlertHub, type AlertHubOptions } from './alert-hub.js';

/** The alert sink of a command, the server or the library: the config's settings over its store. */
export function openAlerts(config: Pick<Config, 'alerts'>, store: EventRepository | undefined, options: Omit<AlertHubOptions, 'store'> = {}): AlertHub {
  return new AlertHub(config.alerts, { ...options, store });
}
