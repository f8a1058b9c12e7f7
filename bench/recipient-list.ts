import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

/** Writes the benches' CSV list (email,name) of `count` recipients to `target`, streamed. */
export async function writeRecipientList(target: string, count: number): Promise<string> {
  const out = createWriteStream(target);
  out.write('email,name\n');
  for (let i = 0; i < count; i++) if (!out.write(`user${i}@example.com,User ${i}\n`)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
  return target;
}
