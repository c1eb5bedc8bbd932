// Where the log source stopped reading, kept across restarts so that the next start reads what
// keepalived logged while the agent was down: for a log file its device, inode and the offset
// after the last whole line read (the inode tells a rotated file from the one at the path now);
// for journald the cursor of the last entry. One small JSON file, replaced atomically.
import * as fs from 'node:fs';
import { z } from 'zod';
import { writeFileAtomic } from '../alerting/atomicFile';
import { errText } from '../errors';

export type ReadPosition =
  | { kind: 'file'; path: string; dev: number; ino: number; offset: number }
  | { kind: 'journal'; cursor: string };

const schema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('file'), path: z.string().min(1), dev: z.number().int().min(0), ino: z.number().int().min(0), offset: z.number().int().min(0) }),
  z.strictObject({ kind: z.literal('journal'), cursor: z.string().min(1).max(4096) }),
]);

export class ReadPositionFile {
  constructor(readonly file: string) {}

  /** The saved position; undefined when there is none. A damaged file is an error naming it. */
  load(): ReadPosition | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`cannot read the log read position ${this.file}: ${errText(e)}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`the log read position ${this.file} is not JSON; it is ignored (the log is read from its end)`);
    }
    const r = schema.safeParse(json);
    if (!r.success) throw new Error(`the log read position ${this.file} is not valid (${r.error.issues.map((i) => `${i.path.join('.') || 'top'}: ${i.message}`).join('; ')}); it is ignored`);
    return r.data;
  }

  save(p: ReadPosition): void {
    writeFileAtomic(this.file, `${JSON.stringify(p)}\n`);
  }
}
