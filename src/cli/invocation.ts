import { basename, delimiter, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { shellWord } from '../data/index.js';

/**
 * How the user started kconv, so that a command kconv prints (how to resume) can be
 * pasted back as it is: `npx kconv` (npx and npm exec set npm_command=exec and run a
 * node_modules/.bin/kconv link),
 * `kconv` when its folder is on PATH, else the path as typed relative to here
 * (`node_modules/.bin/kconv`), or `node bin/kconv.js` for the script itself.
 */
export function invokedAs(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = mainArgv, cwd = process.cwd()): string {
  const script = argv[1];
  if (!script || !script.includes('/')) return script || 'kconv'; // main() called with a bare name (in-process)
  const path = resolve(cwd, script);
  // npx runs the link in a node_modules/.bin (its cache's, or the project's); npm_command alone is inherited by whatever npx started.
  if (env.npm_command === 'exec' && basename(path) === 'kconv' && dirname(path).endsWith(`node_modules${sep}.bin`)) return 'npx kconv';
  const onPath = (env.PATH ?? '').split(delimiter).filter(Boolean).some((dir) => resolve(cwd, dir) === dirname(path));
  if (basename(path) === 'kconv' && onPath) return 'kconv';
  const near = relative(cwd, path);
  const shown = near.startsWith('..') || isAbsolute(near) ? path : near.includes('/') ? near : `./${near}`;
  return basename(path) === 'kconv' ? shellWord(shown) : `node ${shellWord(shown)}`;
}

let mainArgv: readonly string[] = process.argv;

/** The argv main() was given (process.argv for the command itself; tests run main() in-process with their own). */
export function setMainArgv(argv: readonly string[]): void {
  mainArgv = argv;
}

/** A kconv command line: how kconv was started, then the arguments, each quoted for a POSIX shell where needed. */
export function commandLine(args: readonly string[], prefix = invokedAs()): string {
  return [prefix, ...args.map(shellWord)].join(' ');
}
