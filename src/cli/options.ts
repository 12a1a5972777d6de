import { InvalidArgumentError, type Command } from 'commander';

/** Option value parsers: a bad value becomes commander's one-line usage error (exit 2). */
export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1, got "${value}".`);
    return n;
  };
}

export function nonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0, got "${value}".`);
    return n;
  };
}

export function number(name: string, min: number, max: number, { minExclusive = false, maxExclusive = false } = {}) {
  return (value: string): number => {
    const n = Number(value);
    const low = minExclusive ? n > min : n >= min;
    const high = maxExclusive ? n < max : n <= max;
    if (value.trim() === '' || !Number.isFinite(n) || !low || !high) {
      const range = `${minExclusive ? '>' : '≥'} ${min}${Number.isFinite(max) ? ` and ${maxExclusive ? '<' : '≤'} ${max}` : ''}`;
      throw new InvalidArgumentError(`${name} must be a number ${range}, got "${value}".`);
    }
    return n;
  };
}

export function oneOf<T extends string>(name: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`${name} must be one of ${choices.join(', ')}, got "${value}".`);
    return value as T;
  };
}

/** The options every command that reads images shares: how to read the file. */
export function withReadOptions(command: Command): Command {
  return command
    .option('--skip-bad-rows', 'skip malformed rows (or image files that are no readable image) instead of stopping (reports how many)')
    .option('--labels <file>', 'for an idx images file: its labels file, if not beside it by name');
}
