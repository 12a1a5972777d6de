/**
 * src/io's file writer where it needs other processes: a FIFO (made with mkfifo) refused
 * with regularOnly, and a process that exits in the middle of a write. The rest is in
 * test/unit/io.test.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { OutputError } from '../../src/errors.js';
import { writeFileAtomic } from '../../src/io/atomic-write.js';
import { tempDir } from '../helpers/digits.js';

let dir: string;
const p = (name: string) => path.join(dir, name);
beforeAll(() => {
  dir = tempDir('kconv-io-');
});

describe('writeAtomic', () => {
  it('with regularOnly, a FIFO is an OutputError naming the path as given', async () => {
    execFileSync('mkfifo', [p('pipe')]);
    await expect(writeFileAtomic(p('pipe'), 'x', { regularOnly: true, label: 'raw/x' })).rejects.toSatisfy((e) => e instanceof OutputError && e.message === 'raw/x: is a named pipe (FIFO), not a regular file; give a file name');
  });

  it('a temporary file is removed when the process exits in the middle of a write (a second Ctrl-C)', () => {
    const module = fileURLToPath(new URL('../../dist/io/atomic-write.js', import.meta.url));
    const script = `import { writeAtomic } from ${JSON.stringify(module)};
      writeAtomic(${JSON.stringify(p('d.txt'))}, async (sink) => { await sink.write('part'); process.exit(130); });`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script]);
    expect(r.status).toBe(130);
    expect(readdirSync(dir).filter((n) => n.startsWith('d.txt'))).toEqual([]);
  });
});
