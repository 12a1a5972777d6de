import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The compiled JavaScript file of a worker script named relative to `base` (a module's
 * import.meta.url). Under the test runner modules run from src/*.ts, but a worker thread
 * needs real JavaScript: then the file of the same name under dist/ is used (the test
 * script builds first).
 */
export function workerUrl(name: string, base: string): URL {
  const url = new URL(name, base);
  if (existsSync(fileURLToPath(url))) return url;
  const built = new URL(url.href.replace(/\/src\/(?!.*\/src\/)/, '/dist/'));
  if (existsSync(fileURLToPath(built))) return built;
  throw new Error(`worker script ${fileURLToPath(url)} not found: run npm run build`);
}
