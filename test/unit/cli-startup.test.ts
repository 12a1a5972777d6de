/**
 * Start-up: the commands a command line loads (commandsFor). The modules a real process
 * then loads are checked in test/cli/cli-startup.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { commandsFor } from '../../src/cli/main.js';

describe('start-up: a command loads only its own modules', () => {
  it('the command named first is the only one loaded; anything else loads them all', () => {
    expect(commandsFor(['node', 'kconv', 'predict', 'one.png'])).toEqual(['predict']);
    expect(commandsFor(['node', 'kconv', 'evaluate', 'val.csv'])).toEqual(['evaluate']);
    const all = ['check', 'train', 'predict', 'evaluate', 'export', 'show', 'serve', 'info', 'download'];
    expect(commandsFor(['node', 'kconv'])).toEqual(all);
    expect(commandsFor(['node', 'kconv', '--help'])).toEqual(all);
    expect(commandsFor(['node', 'kconv', 'help', 'predict'])).toEqual(all);
    expect(commandsFor(['node', 'kconv', 'predcit'])).toEqual(all); // commander suggests `predict`
    expect(commandsFor(['node', 'kconv', 'toString'])).toEqual(all); // not a command, though an Object property
  });
});
