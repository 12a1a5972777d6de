import { readFileSync } from 'node:fs';
import { KconvError } from '../errors.js';

/**
 * The page's files, read once at start into memory and served by exact name: no path
 * from a request ever reaches the file system, so there is nothing to traverse.
 *
 * The page runs kconv's own compiled modules: dist/image/preprocess.js (the one
 * preprocessing, shared with the CLI and the server) and dist/show/colors.js (the colour
 * scales of `kconv show`). Both are dependency-free ES modules, written for that.
 */
export interface Asset {
  type: string;
  body: Buffer;
}

/** URL path → where the built file is, relative to dist/. */
const FILES: Record<string, [string, string]> = {
  '/': ['serve/public/index.html', 'text/html; charset=utf-8'],
  // The page's modules (app.js imports the others), one concern each.
  ...Object.fromEntries(['app', 'dom', 'pad', 'draw', 'predict', 'upload', 'results', 'shapes', 'maps', 'model', 'teach'].map(
    (name): [string, [string, string]] => [`/assets/${name}.js`, [`serve/public/${name}.js`, 'text/javascript; charset=utf-8']])),
  '/assets/style.css': ['serve/public/style.css', 'text/css; charset=utf-8'],
  '/assets/teach.css': ['serve/public/teach.css', 'text/css; charset=utf-8'],
  '/assets/preprocess.js': ['image/preprocess.js', 'text/javascript; charset=utf-8'],
  '/assets/colors.js': ['show/colors.js', 'text/javascript; charset=utf-8'],
  // Each digit's shape for people without a Kannada font: made by src/serve/make-digit-shapes.mjs.
  '/assets/digit-shapes.png': ['serve/public/digit-shapes.png', 'image/png'],
};

/** This file is dist/serve/assets.js (or src/serve/assets.ts under the tests): dist/ is two levels up either way. */
const DIST = new URL('../../dist/', import.meta.url);

export function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const [path, [file, type]] of Object.entries(FILES)) {
    let body: Buffer;
    try {
      body = readFileSync(new URL(file, DIST));
    } catch {
      throw new KconvError(`the page's file dist/${file} is missing: run npm run build`);
    }
    // Source maps are not shipped to the page.
    if (type.startsWith('text/javascript')) body = Buffer.from(body.toString('utf8').replace(/^\/\/# sourceMappingURL=.*$/m, ''));
    assets.set(path, { type, body });
  }
  return assets;
}
