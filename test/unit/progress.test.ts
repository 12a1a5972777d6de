/**
 * The training progress line (issue "nothing lost, nothing silently wrong", item 25): it was
 * cut at 80 columns (accuracy, images/s and ETA lost) and had no ETA for the whole run.
 */
import { describe, expect, it } from 'vitest';
import { progressLine, type ProgressState } from '../../src/cli/progress.js';

describe('the progress line fits the terminal, numbers first, with the whole run\'s ETA', () => {
  const state: ProgressState = { epoch: 2, epochs: 12, batch: 40, batches: 113, loss: 0.123456, acc: 0.9712, imagesPerSecond: 2400, batchSize: 64 };

  it('at 80 columns: every number, the epoch ETA and the run ETA (the bar gives way)', () => {
    const line = progressLine(state, 80);
    expect(line.length).toBeLessThanOrEqual(79);
    expect(line).toBe('epoch 2/12  40/113  loss 0.1235  acc 97.12%   2400 img/s  ETA 0:02  run 0:32');
  });

  it('wider: a bar in the room the numbers leave, at most 30 cells', () => {
    const line = progressLine(state, 100);
    expect(line.length).toBeLessThanOrEqual(99);
    expect(line).toMatch(/^epoch 2\/12 \|█{4,}░+\|  40\/113  loss 0\.1235  acc 97\.12% {3}2400 img\/s  ETA 0:02  run 0:32$/);
    expect(progressLine(state, 200)).toMatch(/\|[█░]{30}\|/);
  });

  it('narrow: the least needed numbers go, the epoch ETA stays', () => {
    const narrow = progressLine(state, 50);
    expect(narrow.length).toBeLessThanOrEqual(49);
    expect(narrow).toBe('epoch 2/12  40/113  loss 0.1235  ETA 0:02');
    expect(progressLine(state, 40)).toBe('epoch 2/12  40/113  ETA 0:02');
  });

  it('hours show as h:mm:ss; no speed yet shows -', () => {
    expect(progressLine({ ...state, imagesPerSecond: 10 }, 200)).toContain('ETA 7:47  run 2:08:19');
    expect(progressLine({ ...state, imagesPerSecond: null, loss: null, acc: null }, 200)).toMatch(/loss {6}-  acc {6}- {6}- img\/s  ETA {4}-  run {4}-$/);
    // The same length whatever the numbers: the bar does not jump.
    const lengths = [0, 7, 113].map((batch) => progressLine({ ...state, batch, imagesPerSecond: batch * 100 || null }, 120).length);
    expect(new Set(lengths).size).toBe(1);
  });
});

