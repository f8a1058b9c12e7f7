import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface CaughtMail {
  envelope: { from: string; to: string[] };
  parsed: ParsedMail;
}

export interface FakeSmtpOptions {
  /** Required login; without it AUTH is optional. */
  auth?: { user: string; pass: string };
  /**
   * Recipient → SMTP reply code for refusals, e.g. 550 (permanent) or 451 (temporary), or a code
   * with its text (e.g. { code: 550, text: '5.1.1 <x@y>: Recipient address rejected: User unknown' }).
   */
  refuse?: Map<string, number | { code: number; text: string }>;
}

/** A real SMTP server on 127.0.0.1 (smtp-server) that keeps every message, parsed by mailparser. */
export class FakeSmtp {
  readonly messages: CaughtMail[] = [];
  /** Connections opened to the server (a send that reached it, accepted or refused). */
  connections = 0;
  port = 0;
  private server?: SMTPServer;

  constructor(private readonly options: FakeSmtpOptions = {}) {}

  async start(): Promise<number> {
    const { auth, refuse } = this.options;
    this.server = new SMTPServer({
      authOptional: !auth,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onConnect: (_session, callback) => {
        this.connections++;
        callback();
      },
      onAuth: (credentials, _session, callback) => {
        if (auth && credentials.username === auth.user && credentials.password === auth.pass) return callback(null, { user: auth.user });
        return callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      },
      onRcptTo: (address, _session, callback) => {
        const refusal = refuse?.get(address.address.toLowerCase());
        if (refusal) {
          const { code, text } = typeof refusal === 'number' ? { code: refusal, text: refusal >= 500 ? 'Mailbox unavailable' : 'Try again later' } : refusal;
          return callback(Object.assign(new Error(text), { responseCode: code }));
        }
        callback();
      },
      onData: (stream, session, callback) => {
        simpleParser(stream)
          .then((parsed) => {
            this.messages.push({
              envelope: { from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address) },
              parsed,
            });
            callback();
          })
          .catch(callback);
      },
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this.port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
