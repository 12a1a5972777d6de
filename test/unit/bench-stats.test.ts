import { describe, expect, it } from 'vitest';
import * as stats from '../../bench/stats.mjs';

const { alternation, formatNumber, formatRange, formatRatio, markdownTable, median, roundRatios, summarize, textTable } = stats;

describe('bench statistics: median and range over rounds', () => {
  it('median: the middle value of an odd count, the mean of the middle two of an even one, whatever the order', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([10, 1, 4, 3])).toBe(3.5);
    expect(median([7])).toBe(7);
    // a noisy round far off does not move it, as it moves a mean
    expect(median([100, 101, 5])).toBe(100);
  });

  it('median does not reorder the caller’s list and refuses an empty one', () => {
    const rates = [3, 1, 2];
    median(rates);
    expect(rates).toEqual([3, 1, 2]);
    expect(() => median([])).toThrow(RangeError);
  });

  it('summarize: median, min, max and count', () => {
    expect(summarize([1.2, 0.9, 1.5, 1.1])).toEqual({ median: 1.15, min: 0.9, max: 1.5, n: 4 });
  });

  it('ratios pair the two sides round by round, not medians with medians', () => {
    const kconv = new Map([[1, 100], [2, 50], [3, 120]]);
    const torch = new Map([[1, 100], [2, 50], [3, 60]]);
    expect(roundRatios(kconv, torch)).toEqual([1, 1, 2]);
    // The ratio of medians (100 / 60) would call kconv 1.67× ahead when two rounds of three were level.
    expect(median(roundRatios(kconv, torch))).toBe(1);
    // A round only one side finished is left out.
    expect(roundRatios(new Map([[1, 10], [2, 20]]), new Map([[2, 10]]))).toEqual([2]);
  });
});

describe('bench alternation order', () => {
  it('net by net, kconv then PyTorch, the first side swapping every round', () => {
    const order = alternation(['seed', 'default'], ['kconv', 'torch'], 3).map((s: { round: number; net: string; side: string }) => `${s.round}:${s.side}:${s.net}`);
    expect(order).toEqual([
      '0:kconv:seed', '0:torch:seed', '0:kconv:default', '0:torch:default',
      '1:torch:seed', '1:kconv:seed', '1:torch:default', '1:kconv:default',
      '2:kconv:seed', '2:torch:seed', '2:kconv:default', '2:torch:default',
    ]);
  });

  it('every (round, net, side) exactly once, and each pair measured back to back', () => {
    const nets = ['seed', 'default', 'wide', 'bn'];
    const order = alternation(nets, ['kconv', 'torch'], 4);
    expect(order).toHaveLength(4 * 4 * 2);
    expect(new Set(order.map((s: { round: number; net: string; side: string }) => `${s.round}${s.net}${s.side}`)).size).toBe(32);
    for (let i = 0; i < order.length; i += 2) {
      expect(order[i].net).toBe(order[i + 1].net);
      expect(order[i].round).toBe(order[i + 1].round);
      expect(order[i].side).not.toBe(order[i + 1].side);
    }
  });

  it('with kconv alone: net by net, round by round', () => {
    expect(alternation(['a', 'b'], ['kconv'], 2)).toEqual([
      { round: 0, net: 'a', side: 'kconv' }, { round: 0, net: 'b', side: 'kconv' },
      { round: 1, net: 'a', side: 'kconv' }, { round: 1, net: 'b', side: 'kconv' },
    ]);
  });
});

describe('bench tables', () => {
  it('numbers: thousands separated from 100 up, two decimals below; blanks for missing', () => {
    expect(formatNumber(22088.4)).toBe('22,088');
    expect(formatNumber(12.345)).toBe('12.35');
    expect(formatNumber(undefined)).toBe('');
    expect(formatNumber('n/a')).toBe('n/a');
  });

  it('a figure with its range over rounds; a ratio with ×', () => {
    expect(formatRange(summarize([21500, 22088, 22400]))).toBe('22,088 (21,500–22,400)');
    expect(formatRange(summarize([1300]))).toBe('1,300');
    expect(formatRange(undefined)).toBe('');
    expect(formatRatio(summarize([1.2, 1.333, 1.41]))).toBe('1.33× (1.20–1.41)');
  });

  it('markdown: header, separator, rows, `|` escaped', () => {
    expect(markdownTable(['measure', 'kconv'], [['train | default', '1,000'], ['empty', undefined]])).toBe(
      ['| measure | kconv |', '| --- | --- |', '| train \\| default | 1,000 |', '| empty |  |'].join('\n'),
    );
  });

  it('text: the first column padded right, the others left, so the figures line up', () => {
    expect(textTable(['a', 'bb'], [['long name', '1'], ['x', '1,000']])).toBe(['a             bb', 'long name      1', 'x          1,000'].join('\n'));
  });
});
