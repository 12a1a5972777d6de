import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { ModelFile } from '../../src/model/weights-file.js';
import type { Random } from '../../src/random.js';
import { FineTuneJob } from '../../src/serve/finetune-job.js';
import { SampleStore } from '../../src/serve/samples.js';
import { buildServer } from '../../src/serve/server.js';
import { digitPixels, digitsDataset, tempDir } from './digits.js';
import { modelOf } from './models.js';

/** The servers teachServer and fineTuneServer started: closeServers() in afterEach closes them. */
export const openServers: FastifyInstance[] = [];

export async function closeServers(): Promise<void> {
  for (const app of openServers.splice(0)) await app.close();
}

export const postSample = (app: FastifyInstance, body: unknown): Promise<LightMyRequestResponse> =>
  app.inject({ method: 'POST', url: '/api/samples', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });

/** A server of `model` with --collect DIR (DIR a new temporary folder unless given), no replay. */
export async function teachServer(model: ModelFile, opts: { dir?: string; max?: number } = {}) {
  const dir = opts.dir ?? join(tempDir('kconv-teach-'), 'mine');
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);
  const store = await SampleStore.open(dir, { max: opts.max, log });
  const job = new FineTuneJob({ store, replay: null, log });
  const app = buildServer({ model, weightsFile: 'model.json', log, teach: { store, job } });
  openServers.push(app);
  return { app, store, dir, lines, file: join(dir, 'samples.csv') };
}

/**
 * A server with --collect (a new temporary folder) ready to fine-tune on one thread: a
 * conv4k5,relu,pool2,dense10 model, 300 synthetic replay images unless replay is false,
 * and `samples` (20) synthetic samples drawn from `random` posted.
 */
export async function fineTuneServer(random: Random, opts: { samples?: number; replay?: boolean; epochs?: number } = {}) {
  const dir = join(tempDir('kconv-ft-'), 'mine');
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);
  const store = await SampleStore.open(dir, { log });
  const model = modelOf('conv4k5,relu,pool2,dense10', 5);
  const replay = opts.replay === false ? null : { file: 'replay.csv', images: digitsDataset(300, 9) };
  const job = new FineTuneJob({ store, replay, log, threads: 1, epochs: opts.epochs ?? 3 });
  const app = buildServer({ model, weightsFile: 'model.json', log, teach: { store, job } });
  openServers.push(app);
  for (let i = 0; i < (opts.samples ?? 20); i++) {
    const r = await postSample(app, { pixels: digitPixels(i % 10, random), label: i % 10 });
    expect(r.statusCode).toBe(201);
  }
  return { app, dir, lines, model };
}
