// Build step: the page's own files (src/serve/public) go to dist/serve/public, beside the
// compiled modules it imports (dist/image/preprocess.js, dist/show/colors.js). What is
// only for type-checking the page (tsconfig.json, *.d.ts) stays behind.
import { cpSync, mkdirSync } from 'node:fs';

const from = new URL('./public/', import.meta.url);
const to = new URL('../../dist/serve/public/', import.meta.url);
mkdirSync(to, { recursive: true });
cpSync(from, to, { recursive: true, filter: (file) => !/(\.d\.ts|tsconfig\.json)$/.test(file) });
