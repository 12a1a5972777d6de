import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The compiled JavaScript file of a worker script named relative to `base` (a module's
 * import.meta.url), or null when there is none. Both thread pools (training's and CSV
 * parsing's) find their scripts this way. Under the test runner modules run from
 * src/*.ts, but a worker thread needs real JavaScript: then the file of the same name
 * under dist/ is used (the test scripts build first).
 */
export function findWorkerScript(name: string, base: string): URL | null {
  const url = new URL(name, base);
  if (url.protocol !== 'file:') return null;
  if (existsSync(fileURLToPath(url))) return url;
  const built = new URL(url.href.replace(/\/src\/(?!.*\/src\/)/, '/dist/'));
  return existsSync(fileURLToPath(built)) ? built : null;
}
