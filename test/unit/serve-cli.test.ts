/**
 * kconv serve's options that need no server: --max-body sizes. The command as a process
 * (signals, ports, one-line refusals) is in test/cli/serve-cli.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { byteSize } from '../../src/cli/serve.js';

describe('--max-body sizes', () => {
  it('reads bytes, kB and MB', () => {
    expect(byteSize('10MB')).toBe(10 * 1048576);
    expect(byteSize('512kB')).toBe(512 * 1024);
    expect(byteSize('2m')).toBe(2 * 1048576);
    expect(byteSize('4096')).toBe(4096);
    expect(() => byteSize('10')).toThrow(/from 1kB/);
    expect(() => byteSize('2GB')).toThrow(/from 1kB/);
  });
});
