import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { modelBytes, saveModel, type ModelFile } from '../../src/model/weights-file.js';
import { predict } from '../../src/predict/predict.js';
import { buildServer } from '../../src/serve/server.js';
import { digitsDataset, tempDir } from '../helpers/digits.js';
import { modelOf } from '../helpers/models.js';

const ARCH = 'conv4k5,relu,pool2,dense10';
const probe = digitsDataset(30, 3);
let dir: string;
let file: string;
let app: FastifyInstance;
const lines: string[] = [];

const served = async () => {
  const images = Array.from({ length: probe.n }, (_, i) => Array.from(probe.pixels.subarray(i * 784, (i + 1) * 784)));
  const r = await app.inject({ method: 'POST', url: '/api/predict', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ images }) });
  return r.json().predictions.map((p: { label: number }) => p.label);
};
const labelsOf = async (m: ModelFile) => Array.from((await predict(m, { ...probe, file: 'x', skipped: { count: 0, lines: [] }, header: 'label' } as never, 1)).labels);
/** Waits for the n-th line of the log. */
async function line(n: number): Promise<string> {
  for (let i = 0; i < 400 && lines.length < n; i++) await new Promise((r) => setTimeout(r, 25));
  expect(lines.length, lines.join('')).toBeGreaterThanOrEqual(n);
  return lines[n - 1];
}

const a = modelOf(ARCH, 1);
const b = modelOf(ARCH, 2);
const c = modelOf(ARCH, 3);

beforeAll(async () => {
  dir = tempDir('kconv-reload-');
  file = join(dir, 'm.json');
  await saveModel(file, a);
  app = buildServer({ model: a, weightsFile: file, watch: true, log: (l) => lines.push(l) });
  await new Promise((r) => setTimeout(r, 100));
});
afterAll(() => app.close());

describe('kconv serve reloads its weights file when it changes', () => {
  it('an atomic replace (kconv train saves so) switches the model, with one line in the log', async () => {
    expect(await labelsOf(a)).not.toEqual(await labelsOf(b));
    expect(await served()).toEqual(await labelsOf(a));
    await saveModel(file, b);
    expect(await line(1)).toMatch(/^kconv serve: reloaded m\.json: conv4k5,relu,pool2,dense10, [\d,]+ parameters\n$/);
    expect(await served()).toEqual(await labelsOf(b));
  });

  it('a half-written file or garbage keeps the model being served (one line each), and a whole file written in place then loads', async () => {
    const text = modelBytes(c);
    writeFileSync(file, text.subarray(0, text.length >> 1));
    expect(await line(2)).toMatch(/^kconv serve: not reloading m\.json: .*m\.json: not valid JSON .*; still serving the previous model\n$/);
    expect(await served()).toEqual(await labelsOf(b));
    writeFileSync(file, '{"format": "kconv-model", "version": 2, "garbage": true}');
    expect(await line(3)).toMatch(/^kconv serve: not reloading m\.json: .*; still serving the previous model\n$/);
    expect(await served()).toEqual(await labelsOf(b));
    writeFileSync(file, text);
    expect(await line(4)).toMatch(/^kconv serve: reloaded m\.json/);
    expect(await served()).toEqual(await labelsOf(c));
    expect(readFileSync(file)).toEqual(text);
    // No line for changes to other files in the folder.
    writeFileSync(join(dir, 'other.json'), 'x');
    await new Promise((r) => setTimeout(r, 500));
    expect(lines).toHaveLength(4);
  });
});
