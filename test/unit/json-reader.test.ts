/**
 * The JSON reader's nesting bound (src/model/json-reader.ts), checked before JSON.parse
 * recurses: the fast scan (quotes and brackets by a regular expression, each string's end by
 * indexOf) must say what the plain loop over every character says, on any text.
 */
import { describe, expect, it } from 'vitest';
import { nestedDeeperThan } from '../../src/model/json-reader.js';
import { Random } from '../../src/random.js';

/** The reference: one character at a time, a backslash in a string skipping the next one. */
function nestedDeeperThanReference(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      if (++depth > max) return true;
    } else if (c === ']' || c === '}') depth--;
  }
  return false;
}

describe('nestedDeeperThan', () => {
  it('counts brackets outside strings only, escaped quotes and backslashes included', () => {
    const cases: [string, number, boolean][] = [
      ['{"a":"[[[[[","b":[1]}', 2, false],
      ['{"a":"\\"[[[","b":[[1]]}', 2, true],
      ['{"a":"\\"[[[","b":[[1]]}', 3, false],
      ['{"a":"\\\\","b":[[1]]}', 2, true], // an escaped backslash does not escape the quote after it
      ['["abc[[[[', 1, false], // a string never closed runs to the end
      ['["abc\\', 1, false],
      ['['.repeat(33) + ']'.repeat(33), 32, true],
      ['['.repeat(32) + ']'.repeat(32), 32, false],
      ['[]'.repeat(100), 1, false],
    ];
    for (const [text, max, deeper] of cases) {
      expect(nestedDeeperThanReference(text, max), text).toBe(deeper);
      expect(nestedDeeperThan(text, max), text).toBe(deeper);
    }
  });

  it('agrees with the reference on 3000 random texts of quotes, backslashes, brackets and digits', () => {
    const random = new Random(5);
    const alphabet = '"\\[]{}1,: ';
    for (let t = 0; t < 3000; t++) {
      const text = Array.from({ length: random.int(40) }, () => alphabet[random.int(alphabet.length)]).join('');
      const max = random.int(4);
      expect(nestedDeeperThan(text, max), JSON.stringify(text)).toBe(nestedDeeperThanReference(text, max));
    }
  });

  it('reads a 100 MB string in one pass (a regular expression over the string would overflow its stack)', () => {
    const text = `{"a":"${'x'.repeat(100_000_000)}","b":${'['.repeat(40)}`;
    expect(nestedDeeperThan(text, 32)).toBe(true);
  });
});
