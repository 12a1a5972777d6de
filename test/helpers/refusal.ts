import { expect } from 'vitest';
import { UsageError } from '../../src/errors.js';

/** The one line a refused call throws, checked to be a UsageError (the CLI's exit 2). */
export function usageMessage(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
}
