import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, runCli } from './cli.js';
import { TEST_ENV } from './config.js';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Everything the server wrote so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then the exit code once it has ended. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Starts the built CLI's `serve` on a free loopback port and waits for its "listening on" line. */
export function startServer(configPath: string, cwd: string, args: string[] = [], envOverrides: Record<string, string | undefined> = {}): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, ...TEST_ENV, NO_COLOR: '1', PENGUINMAILS_CONFIG: undefined, ...envOverrides };
    for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
    const child = spawn(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', '--config', configPath, ...args], { cwd, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let settled = false;
    const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    const timer = setTimeout(() => fail(new Error(`serve did not start within 20 s:\n${output}`)), 20_000);
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
      if (url && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve({
          url,
          child,
          exited,
          output: () => output,
          stop: (signal = 'SIGTERM') => {
            child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', fail);
    void exited.then((code) => fail(new Error(`serve exited with ${code} before listening:\n${output}`)));
  });
}

/** `keys create --name <name> --json` on the config's store: the key. */
export async function createKey(configPath: string, name: string): Promise<string> {
  const created = await runCli(['keys', 'create', '--name', name, '--config', configPath, '--json']);
  if (created.code !== 0) throw new Error(`keys create failed: ${created.stderr}`);
  return created.json().key;
}

export interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

/** One HTTP request to a test server; the body parsed as JSON when it is JSON (else kept as text). */
export async function call(base: string, method: string, pathname: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const response = await fetch(base + pathname, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Prometheus text, or an error page
  }
  return { status: response.status, headers: response.headers, body: parsed };
}
