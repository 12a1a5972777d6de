import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runKconv } from '../helpers/cli.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

describe('kconv CLI basics', () => {
  it('prints its version', async () => {
    const r = await runKconv(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('shows examples in --help and in each command help', async () => {
    const top = await runKconv(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Examples:\n\s+\$ kconv check/);
    for (const command of ['check']) {
      const r = await runKconv([command, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`Example:\\n\\s+\\$ kconv ${command}`));
    }
  });

  it('rejects an unknown command or option with one line and exit code 2', async () => {
    for (const args of [['frobnicate'], ['--nope'], ['check', '--nope']]) {
      const r = await runKconv(args);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^kconv: unknown (command|option)/);
      expect(r.stdout).toBe('');
    }
  });

  it('kconv check prints the article example and a passing table, exit 0', async () => {
    const r = await runKconv(['check']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('[[3, 3],\n   [5, 7]]');
    expect(r.stdout).toMatch(/worst error\s+tolerance\s+result/);
    expect(r.stdout).not.toContain('FAIL');
    expect(r.stdout).toMatch(/All \d+ checks passed/);
  });

  it('kconv check --json is one JSON document', async () => {
    const r = await runKconv(['check', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.pass).toBe(true);
    expect(doc.example).toEqual([[3, 3], [5, 7]]);
    expect(doc.rows.every((row: { pass: boolean }) => row.pass)).toBe(true);
  });
});
