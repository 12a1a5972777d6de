/**
 * kconv serve --collect's fine-tune where it needs a socket or a process: progress pushed
 * as Server-Sent Events to a listening server, and SIGTERM to a kconv serve process in
 * the middle of a fine-tune. The rest is in test/unit/serve-teach-finetune.test.ts.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { saveModel } from '../../src/model/weights-file.js';
import type { JobStatus } from '../../src/serve/finetune-job.js';
import { HEADER } from '../../src/serve/samples.js';
import { Random } from '../../src/random.js';
import { startServe } from '../helpers/cli.js';
import { digitsCsv, tempDir } from '../helpers/digits.js';
import { modelOf } from '../helpers/models.js';
import { closeServers, fineTuneServer } from '../helpers/teach-server.js';

const ARCH = 'conv4k5,relu,pool2,dense10';
const random = new Random(21);

afterEach(closeServers);

describe('kconv serve --collect: fine-tune', () => {
  it('pushes progress as Server-Sent Events, ending with the result', async () => {
    const { app } = await fineTuneServer(random);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    const response = await fetch(`http://127.0.0.1:${port}/api/finetune/events`);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect((await fetch(`http://127.0.0.1:${port}/api/finetune`, { method: 'POST' })).status).toBe(202);
    const states: { state: string; epoch: number; loss: number | null }[] = [];
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of response.body!) {
      text += decoder.decode(chunk as Uint8Array, { stream: true });
      for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
        const data = /^data: (.*)$/m.exec(text.slice(0, end));
        text = text.slice(end + 2);
        if (data) states.push(JSON.parse(data[1]));
      }
      if (states.at(-1)?.state === 'done') break;
    }
    expect(states[0].state).toBe('idle');
    expect(states.some((s) => s.state === 'running' && s.epoch >= 1 && typeof s.loss === 'number')).toBe(true);
    expect(states.at(-1)).toMatchObject({ state: 'done', file: 'model.finetuned.json' });
    // The same as GET /api/finetune with Accept: text/event-stream.
    const accept = await fetch(`http://127.0.0.1:${port}/api/finetune`, { headers: { accept: 'text/event-stream' } });
    expect(accept.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    await accept.body!.cancel();
    // HEAD ends at once (a stream that never ends would time out here).
    const head = await fetch(`http://127.0.0.1:${port}/api/finetune/events`, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
    expect(head.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(await head.text()).toBe('');
  }, 120_000);
});

describe('kconv serve --collect, the process', () => {
  it('on SIGTERM mid-fine-tune: stops, exits 0, the old model.finetuned.json kept, no temporary files, the lock released', async () => {
    const dir = tempDir('kconv-ft-term-');
    const mine = join(dir, 'mine');
    await saveModel(join(dir, 'm.json'), modelOf(ARCH, 2));
    // Enough samples and replay that the fine-tune takes seconds.
    const { text } = digitsCsv(3000, 4);
    writeFileSync(join(dir, 'replay.csv'), text);
    const samples = digitsCsv(400, 6).text;
    const { mkdirSync } = await import('node:fs');
    mkdirSync(mine);
    expect(samples.startsWith(HEADER)).toBe(true);
    writeFileSync(join(mine, 'samples.csv'), samples);
    writeFileSync(join(mine, 'model.finetuned.json'), 'the old one');
    const { child, port, stderr, exit } = await startServe(['--weights', join(dir, 'm.json'), '--port', '0', '--collect', mine, '--replay', join(dir, 'replay.csv')], { env: { XDG_CACHE_HOME: join(dir, 'cache'), KCONV_THREADS: '2' }, ready: /teaching: 400 samples/ });
    expect(stderr()).toMatch(/fine-tunes replay 3000 images of .*replay\.csv\n/);
    expect((await fetch(`http://127.0.0.1:${port}/api/finetune`, { method: 'POST' })).status).toBe(202);
    // Well inside the run: some batches done.
    for (let i = 0; i < 400; i++) {
      const s = (await (await fetch(`http://127.0.0.1:${port}/api/finetune`)).json()) as JobStatus;
      if (s.epoch >= 1 && s.loss !== null) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(((await (await fetch(`http://127.0.0.1:${port}/api/finetune`)).json()) as JobStatus).state).toBe('running');
    child.kill('SIGTERM');
    const [code] = await exit;
    expect(code, stderr()).toBe(0);
    expect(stderr()).toMatch(/SIGTERM: no new connections/);
    expect(stderr()).not.toMatch(/fine-tuned on/);
    expect(readFileSync(join(mine, 'model.finetuned.json'), 'utf8')).toBe('the old one');
    expect(readdirSync(mine).sort()).toEqual(['model.finetuned.json', 'samples.csv']);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(join(mine, 'samples.csv.lock'))).toBe(false);
  }, 120_000);
});
