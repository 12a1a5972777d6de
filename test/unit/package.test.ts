/**
 * What the npm package holds and says (issue "nothing lost, nothing silently wrong", items
 * 26 and 28): the docs' warning about evaluating the official test set, the package's
 * files and scripts, and the examples. Each test failed on the code before its fix.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, ROOT), 'utf8');

describe('the docs warn where evaluating the official test set would be misleading', () => {
  it('next to the idx evaluate example (docs/formats.md)', () => {
    const readme = read('docs/formats.md');
    const example = readme.indexOf('npx kconv evaluate ../shared/data/kannada/raw/X_kannada_MNIST_test-idx3-ubyte.gz');
    expect(example).toBeGreaterThan(0);
    const around = readme.slice(example - 1500, example + 1500);
    expect(around).toMatch(/train\.csv[\s\S]{0,80}cut from the official test set/);
    expect(around).toMatch(/its own training images/);
  });
});

describe('the npm package and the examples', () => {
  const pkg = JSON.parse(read('package.json'));

  it('ships examples/ and a LICENSE, and has no install-time script a user would have to approve', () => {
    expect(pkg.files).toEqual(expect.arrayContaining(['bin', 'dist', 'examples', 'LICENSE']));
    expect(read('LICENSE')).toMatch(/^MIT License/);
    expect(pkg.license).toBe('MIT');
    // npm asks installers (from a tarball, folder or git) to approve preinstall, install, postinstall and prepare.
    for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) expect(pkg.scripts[script], script).toBeUndefined();
    // The build still runs on npm install / npm ci here, after one line saying so (issue 24).
    expect(pkg.scripts.dependencies).toMatch(/^node -e "console\.error\('building kconv…[^"]*'\)" && npm run build$/);
  });

  it('examples/onnx_predict.py does not claim onnxruntime cannot be installed', () => {
    const script = read('examples/onnx_predict.py');
    expect(script).not.toMatch(/cannot install onnxruntime/);
    expect(script).toMatch(/onnxruntime 1\.30\.0/);
  });

  it('examples/browser.html finds the model where the README export writes it, and says when the runtime failed to load', () => {
    const page = read('examples/browser.html');
    expect(page).toContain("'../model.onnx'");
    expect(page).toMatch(/onnxruntime-web could not be loaded/);
    expect(read('docs/formats.md')).toMatch(/examples\/browser\.html/);
  });
});
