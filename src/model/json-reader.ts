/**
 * One reader for kconv's JSON records (weights files, their training record, ensemble
 * manifests). A schema is a tree of small readers, each checking one value and naming
 * it by its JSON path when it is wrong, so every fault is one line: the file (the
 * caller's `fail` adds it), the path, what it must be and what it is. Own properties
 * only: a key like __proto__ in a file never reaches a prototype. An object comes back
 * with its keys in the schema's order, so a record read and written again is unchanged.
 *
 * Hand-written rather than zod or valibot: the messages are kconv's own sentences
 * ("training.limit must be null or an integer ≥ 1, got -5"), which a library needs a
 * custom message and an issue formatter for at every field; this file is the whole of it.
 */

/** Throws the one-line error; the caller's fail names the file. */
export type Fail = (what: string) => never;

/** Reads the value at `path` (e.g. "training.optimizer.lr"), or fails naming it. */
export interface Reader<T> {
  (value: unknown, path: string, fail: Fail): T;
  /** What a valid value is, as the messages say it: "a number > 0". */
  readonly what: string;
  /** Absent is allowed: the key is then left out of the object read. */
  readonly optional?: true;
}

/** The most levels of arrays and objects a kconv JSON file may nest: a weights file nests 5 (document, training, history, record; optimizerState, m, array). */
export const MAX_JSON_DEPTH = 32;

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Own properties only: a key like __proto__ in the file must never reach a prototype. */
export const own = (o: Record<string, unknown>, key: string): unknown => (Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined);

export const short = (s: string): string => (s.length > 40 ? `${s.slice(0, 40)}…` : s);

/** A value as a message quotes it: short, whatever the file holds. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(short(v));
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return 'an object';
}

/** A quote (a string starts) or a bracket. */
const QUOTE_OR_BRACKET = /["[\]{}]/g;

/**
 * True when the JSON text nests arrays and objects deeper than `max` (brackets inside strings
 * do not count). A regular expression finds the quotes and brackets and indexOf each string's
 * end, so the long runs of digits a weights file is made of are skipped in native code, where a
 * loop over every character runs cold in the interpreter (0.2 against 2.4 ms on the default
 * net's file, at start-up). No backtracking: a string of any length costs one pass.
 */
export function nestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  QUOTE_OR_BRACKET.lastIndex = 0;
  for (let m; (m = QUOTE_OR_BRACKET.exec(text)) !== null; ) {
    const c = text.charCodeAt(m.index);
    if (c === 0x22) {
      QUOTE_OR_BRACKET.lastIndex = stringEnd(text, m.index + 1);
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else {
      depth--;
    }
  }
  return false;
}

/** The index after the quote that closes a string opened before `from` (one not escaped: an even run of backslashes before it), or the text's end. */
function stringEnd(text: string, from: number): number {
  for (let q = text.indexOf('"', from); q !== -1; q = text.indexOf('"', q + 1)) {
    let slashes = 0;
    while (text.charCodeAt(q - 1 - slashes) === 0x5c) slashes++;
    if (slashes % 2 === 0) return q + 1;
  }
  return text.length;
}

/**
 * A kconv JSON document's object, its "format" and "version" checked: `what` names the
 * kind of file ("weights file"), `format` and `newest` are what this kconv reads.
 * Bounded nesting before parsing (JSON.parse recurses), a leading byte-order mark skipped.
 */
export function readDocument(text: string, fail: Fail, what: string, format: string, newest: number): { doc: Record<string, unknown>; version: number } {
  const kind = `kconv ${what}`;
  if (nestedDeeperThan(text, MAX_JSON_DEPTH)) fail(`JSON nested more than ${MAX_JSON_DEPTH} levels deep: not a ${kind}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    fail(`not valid JSON (${(error as Error).message}): is it a ${kind}, complete and not truncated?`);
  }
  if (!isObject(doc)) return fail(`not a ${kind} (expected a JSON object)`);
  const found = own(doc, 'format');
  if (found !== format) fail(`not a ${kind} ("format" is ${found === undefined ? 'missing' : describe(found)}, expected "${format}")`);
  const version = own(doc, 'version');
  if (typeof version !== 'number' || !Number.isInteger(version)) return fail('"version" is missing or not an integer');
  if (version > newest) fail(`${what} version ${version} was made by a newer kconv (this one reads version ${newest}): upgrade kconv`);
  if (version < 1) fail(`unknown ${what} version ${version}`);
  return { doc, version };
}

/** A reader of values that `ok` accepts: "<path> must be <what>, got <value>" otherwise. */
export function must<T>(ok: (v: unknown) => v is T, what: string): Reader<T> {
  return Object.assign((v: unknown, path: string, fail: Fail) => (ok(v) ? v : fail(`${path} must be ${what}, got ${describe(v)}`)), { what });
}

/** An integer from `min` to `max` (the message names the lower bound only, as kconv's always have). */
export const int = (min: number, max = Number.MAX_SAFE_INTEGER): Reader<number> =>
  must((v): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max, `an integer ≥ ${min}`);

/** A finite number that `ok` accepts, `what` saying which ("a number > 0"). */
export const num = (ok: (v: number) => boolean, what: string): Reader<number> =>
  must((v): v is number => typeof v === 'number' && Number.isFinite(v) && ok(v), what);

export const bool: Reader<boolean> = must((v): v is boolean => typeof v === 'boolean', 'true or false');

/** One of the names. */
export const oneOf = <T extends string>(values: readonly T[]): Reader<T> =>
  must((v): v is T => (values as readonly unknown[]).includes(v), `one of ${values.join(', ')}`);

/** A string `ok` accepts. */
export const str = (ok: (s: string) => boolean, what: string): Reader<string> => must((v): v is string => typeof v === 'string' && ok(v), what);

/** Null, or the single value `read` reads: "<path> must be null or <what>, got <value>" otherwise. */
export function orNull<T>(read: Reader<T>): Reader<T | null> {
  const what = `null or ${read.what}`;
  return Object.assign((v: unknown, path: string, fail: Fail) => (v === null ? null : read(v, path, () => fail(`${path} must be ${what}, got ${describe(v)}`))), { what });
}

/** May be absent: the object read leaves the key out. */
export const optional = <T>(read: Reader<T>): Reader<T | undefined> =>
  Object.assign((v: unknown, path: string, fail: Fail) => (v === undefined ? undefined : read(v, path, fail)), { what: read.what, optional: true as const });

type Fields = Record<string, Reader<unknown>>;
type OptionalKeys<S extends Fields> = { [K in keyof S]: S[K]['optional'] extends true ? K : never }[keyof S];
/** The object a schema reads: optional readers give optional keys. */
export type Read<S extends Fields> = { [K in Exclude<keyof S, OptionalKeys<S>>]: ReturnType<S[K]> } & {
  [K in OptionalKeys<S>]?: Exclude<ReturnType<S[K]>, undefined>;
};

/**
 * An object of the fields, read in order and returned in that order (absent optional
 * fields left out, keys not in the schema dropped). Not an object: "<path> must be
 * <what>, got <value>" when `what` is given, else "<path> must be an object".
 */
export function object<S extends Fields>(fields: S, what?: string): Reader<Read<S>> {
  const read = (v: unknown, path: string, fail: Fail): Read<S> => {
    if (!isObject(v)) return fail(what ? `${path} must be ${what}, got ${describe(v)}` : `${path} must be an object`);
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(fields)) {
      const value = field(own(v, key), `${path}.${key}`, fail);
      if (value !== undefined || !field.optional) out[key] = value;
    }
    return out as Read<S>;
  };
  return Object.assign(read, { what: what ?? 'an object' });
}

/** An array, element i read by `element(i)` at "<path>[i]". */
export function arrayOf<T>(element: (i: number) => Reader<T>, what: string): Reader<T[]> {
  return Object.assign((v: unknown, path: string, fail: Fail): T[] => {
    if (!Array.isArray(v)) return fail(`${path} must be ${what}, got ${describe(v)}`);
    return v.map((x: unknown, i: number) => element(i)(x, `${path}[${i}]`, fail));
  }, { what });
}
