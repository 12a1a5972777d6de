/**
 * The rules of kconv show (show/mode.ts, show/pictures.ts) and what a download's report
 * comes to (download/outcome.ts), checked directly, without spawning the CLI.
 */
import { describe, expect, it } from 'vitest';
import { DataError } from '../../src/errors.js';
import type { DownloadReport, FileOutcome } from '../../src/download/download.js';
import { failureSummary, unreachable } from '../../src/download/outcome.js';
import { showMode } from '../../src/show/mode.js';
import { checkRow, curvesPicture, filterLayers, filtersPicture, mistakesCaption } from '../../src/show/pictures.js';
import { usageMessage } from '../helpers/refusal.js';
import { modelOf, randomImages } from '../helpers/models.js';

describe('kconv show: which picture', () => {
  it('picks the mode, and refuses options that do not fit it in one line', () => {
    expect(showMode('val.csv', {})).toBe('digit');
    expect(showMode(undefined, { filters: true, out: 'f.png', layer: '2' })).toBe('filters');
    expect(showMode('val.csv', { mistakes: true, out: 'm.PNG', limit: 3 })).toBe('mistakes');
    expect(usageMessage(() => showMode(undefined, { filters: true, curves: true, out: 'x.png' }))).toBe('--filters and --curves draw different pictures: give one of them at a time');
    expect(usageMessage(() => showMode('v.csv', { curves: true, out: 'c.png' }))).toBe('--curves draws from the weights file alone: leave out the data file "v.csv"');
    expect(usageMessage(() => showMode(undefined, { row: 3 }))).toMatch(/^--row picks an image of a data file/);
    expect(usageMessage(() => showMode(undefined, {}))).toMatch(/^nothing to show/);
    expect(usageMessage(() => showMode('v.csv', { limit: 3 }))).toBe('--limit goes with --mistakes (how many mistakes to draw)');
    expect(usageMessage(() => showMode(undefined, { filters: true }))).toBe('--filters draws a picture: give the file to write it to, e.g. --out filters.png');
    expect(usageMessage(() => showMode('v.csv', { out: 'd.jpg' }))).toMatch(/^--out writes a PNG picture/);
  });

  it('draws every conv layer of a small net, the first of a large one with a note, and --layer N or all when told', () => {
    const small = modelOf('conv4k3,relu,pool2,conv8k3,relu,dense10');
    expect(filterLayers(small.net, undefined, 's.json')).toEqual({ layers: [0, 1], note: null });
    expect(filterLayers(small.net, '2', 's.json')).toEqual({ layers: [1], note: null });
    expect(usageMessage(() => filterLayers(small.net, '3', 's.json'))).toBe('--layer 3: s.json has 2 conv layers; give a number from 1 to 2, or all');
    const large = modelOf('conv32k3p1,relu,pool2,conv64k3p1,relu,pool2,dense10');
    const picked = filterLayers(large.net, undefined, 'l.json');
    expect(picked.layers).toEqual([0]);
    expect(picked.note).toBe('the network has 2 conv layers with 2,080 filter tiles in all: drawing conv1; --layer N draws conv layer N, --layer all every one');
    expect(filterLayers(large.net, 'all', 'l.json').layers).toEqual([0, 1]);
    expect(filtersPicture(large, 'l.json', '2').what).toBe('the filters of conv layer 2 of 2');
    expect(filtersPicture(small, 's.json', undefined).what).toBe('the filters of 2 conv layers');
    expect(usageMessage(() => filtersPicture(modelOf('flatten,dense10'), 'd.json', undefined))).toMatch(/has no conv layers/);
    expect(() => curvesPicture(small, 's.json')).toThrow(/training/);
  });

  it('checks the row asked for, and a blank picture; says how many mistakes a picture shows', () => {
    const images = randomImages(3, 1);
    expect(() => checkRow(images, 2, 'v.csv')).not.toThrow();
    expect(usageMessage(() => checkRow(images, 3, 'v.csv'))).toBe('--row 3 is out of range: v.csv has 3 images, rows 0 to 2 (rows count from 0)');
    expect(() => checkRow(images, 1, 'pics', [1], ['a.png', 'b.png', 'c.png'])).toThrow(DataError);
    expect(mistakesCaption(0, 10, 0)).toBe('a note that there are no mistakes');
    expect(mistakesCaption(1, 10, 1)).toBe('1 mistake of 10');
    expect(mistakesCaption(5, 10, 2)).toBe('5 mistakes of 10, the first 2 drawn (--limit)');
  });
});

describe('kconv download: what the report comes to', () => {
  const file = (status: FileOutcome['status'], reason?: string): FileOutcome => ({ file: 'X_kannada_MNIST_train.npz' as FileOutcome['file'], path: 'p', status, ...(reason ? { reason } : {}) });
  const report = (files: FileOutcome[], failures = files.filter((f) => f.status === 'failed').map(() => 'x'), source = 'https://example.org/base/'): DownloadReport =>
    ({ dir: 'd', source, files, csvs: [], failures });

  it('one reason for every file is "unreachable" (with the host or folder); a mix, a success or a blob mismatch is not', () => {
    expect(unreachable(report([file('failed', 'connection refused'), file('failed', 'connection refused')]))).toEqual({ reason: 'connection refused', count: 2, where: 'example.org' });
    expect(unreachable(report([file('failed', 'gone'), file('failed', 'gone')], undefined, '/mnt/raw'))?.where).toBe('/mnt/raw');
    expect(unreachable(report([file('failed', 'a'), file('failed', 'b')]))).toBeNull();
    expect(unreachable(report([file('failed', 'a'), file('downloaded')]))).toBeNull();
    expect(unreachable(report([file('failed', 'a')]))).toBeNull();
    expect(unreachable(report([file('failed', 'blob id mismatch: x'), file('failed', 'blob id mismatch: x')]))).toBeNull();
  });

  it('counts what failed', () => {
    expect(failureSummary(report([file('downloaded')]))).toBeNull();
    expect(failureSummary(report([file('failed', 'a'), file('downloaded'), file('present')]))).toBe('1 of 3 files failed');
    const csvFailed = { ...report([file('downloaded')], ['csv']), csvs: [{ file: 'train.csv', path: 't', status: 'failed', sources: ['a', 'b'] }] } as unknown as DownloadReport;
    expect(failureSummary(csvFailed)).toBe('1 CSV file(s) could not be made');
  });
});
