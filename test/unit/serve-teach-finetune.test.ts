/**
 * kconv serve --collect's fine-tune in this process, through inject(): a run that writes
 * DIR/model.finetuned.json and is served only once accepted, runs one after another, and
 * how the samples are measured. Progress over a real socket (Server-Sent Events) and
 * SIGTERM to a serve process are in test/cli/serve-teach-finetune.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/model/weights-file.js';
import { predict } from '../../src/predict/predict.js';
import { heldOutFor } from '../../src/serve/finetune-run.js';
import { Random } from '../../src/random.js';
import { digitPixels, digitsDataset } from '../helpers/digits.js';
import { closeServers, fineTuneServer } from '../helpers/teach-server.js';

const random = new Random(21);

afterEach(closeServers);

async function finished(app: FastifyInstance) {
  for (let i = 0; i < 1200; i++) {
    const s = (await app.inject('/api/finetune')).json();
    if (s.state !== 'running') return s;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the fine-tune did not finish in 60 s');
}

const probe = digitsDataset(40, 77);
const predictOn = async (app: FastifyInstance) => {
  const images = Array.from({ length: probe.n }, (_, i) => Array.from(probe.pixels.subarray(i * 784, (i + 1) * 784)));
  const r = await app.inject({ method: 'POST', url: '/api/predict', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ images }) });
  return r.json().predictions.map((p: { probs: number[] }) => p.probs);
};

describe('kconv serve --collect: fine-tune', () => {
  it('fine-tunes in the server (409 while one runs), writes DIR/model.finetuned.json, and serves it only once accepted', async () => {
    const { app, dir, lines, model } = await fineTuneServer(random);
    const before = await predictOn(app);
    const start = await app.inject({ method: 'POST', url: '/api/finetune' });
    expect(start.statusCode, start.body).toBe(202);
    expect(start.json()).toMatchObject({ state: 'running', samples: 20, replay: { file: 'replay.csv', images: 300 } });
    const twice = await app.inject({ method: 'POST', url: '/api/finetune' });
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error).toMatch(/a fine-tune is already running/);
    // Nothing to accept yet.
    expect((await app.inject({ method: 'POST', url: '/api/model/use', headers: { 'content-type': 'application/json' }, payload: '{"model":"finetuned"}' })).statusCode).toBe(409);

    const done = await finished(app);
    expect(done.state, done.error).toBe('done');
    expect(done).toMatchObject({ file: 'model.finetuned.json', heldOut: 20, runs: 6, error: null });
    // Accuracies over the 20 held-out samples and the replay validation images: whole counts of
    // them, and the fine-tune learned (the init model, random, reads none of them right).
    expect(done.replayVal).toBeGreaterThan(0);
    for (const [accuracy, n] of [[done.before.user, 20], [done.after.user, 20], [done.before.replay, done.replayVal], [done.after.replay, done.replayVal]]) {
      const right = Math.round(accuracy * n);
      expect(accuracy, `${accuracy} of ${n}`).toBeCloseTo(right / n, 12);
      expect(right >= 0 && right <= n, `${right} of ${n}`).toBe(true);
    }
    expect(done.after.user).toBeGreaterThan(done.before.user);
    expect(done.after.replay).toBeGreaterThan(done.before.replay);
    expect(lines.at(-1)).toMatch(/^kconv serve: fine-tuned on 20 samples in [\d.]+ s: your held-out digits [\d.]+% → [\d.]+%, replay validation [\d.]+% → [\d.]+%; wrote .*model\.finetuned\.json\n$/);
    const tuned = await loadModel(join(dir, 'model.finetuned.json'));
    expect(tuned.training?.init?.file).toBe('model.json');
    expect(readdirSync(dir).sort()).toEqual(['model.finetuned.json', 'samples.csv', 'samples.csv.lock']);

    // Not served until accepted: the served model (and its weights) are as they were.
    expect(await predictOn(app)).toEqual(before);
    const use = (model: unknown) => app.inject({ method: 'POST', url: '/api/model/use', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ model }) });
    expect((await use('finetuned')).json()).toEqual({ serving: 'finetuned' });
    const after = await predictOn(app);
    const want = await predict(tuned, { ...probe, file: 'x', skipped: { count: 0, lines: [] }, header: 'pixels' } as never, 1);
    expect(after.map((p: number[]) => p.indexOf(Math.max(...p)))).toEqual(Array.from(want.labels));
    expect(after).not.toEqual(before);
    expect((await app.inject('/api/model')).json().file).toBe('model.finetuned.json');
    expect((await use('original')).json()).toEqual({ serving: 'original' });
    expect(await predictOn(app)).toEqual(before);
    for (const bad of ['mine', null, 1]) expect((await use(bad)).statusCode).toBe(400);
    void model;
  }, 120_000);

  it('fine-tunes again and again in one server (a new sample each time), each from the model being served', async () => {
    const { app, dir } = await fineTuneServer(random, { samples: 12 });
    const files: string[] = [];
    for (let round = 0; round < 3; round++) {
      expect((await app.inject({ method: 'POST', url: '/api/finetune' })).statusCode).toBe(202);
      const done = await finished(app);
      expect(done.state, done.error).toBe('done');
      expect(done.samples).toBe(12 + round);
      files.push(readFileSync(join(dir, 'model.finetuned.json'), 'utf8'));
      expect((await app.inject({ method: 'POST', url: '/api/model/use', headers: { 'content-type': 'application/json' }, payload: '{"model":"finetuned"}' })).statusCode).toBe(200);
      await app.inject({ method: 'POST', url: '/api/samples', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ pixels: digitPixels(round, random), label: round }) });
    }
    expect(new Set(files).size).toBe(3);
    // The second started from the first's result, the third from the second's.
    expect(JSON.parse(files[1]).training.init.file).toMatch(/model\.finetuned\.json$/);
  }, 180_000);

  it('needs 10 samples; measures by 5-fold below 100 samples, by a held-out third above', async () => {
    const { app } = await fineTuneServer(random, { samples: 9 });
    const r = await app.inject({ method: 'POST', url: '/api/finetune' });
    expect(r.statusCode).toBe(409);
    expect(r.json().error).toMatch(/at least 10 samples, and there are 9/);
    expect(heldOutFor(99)).toEqual({ kind: 'kfold', k: 5 });
    expect(heldOutFor(100)).toEqual({ kind: 'split', fraction: 1 / 3 });
  });
});
