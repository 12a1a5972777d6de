/**
 * The documentation stays a path a reader can follow: every relative link in README.md and
 * docs/*.md names a file that exists, every #anchor a heading of the file it points into
 * (by GitHub's slug rules), and README.md stays short (the reference lives in docs/).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/digits.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README_MAX_LINES = 250;

/** GitHub's anchor for a heading: markdown marks gone, lower case, punctuation dropped, spaces to '-'. */
export function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text, not its target
    .replace(/[`*_~]/g, (mark) => (mark === '_' ? '_' : '')); // emphasis and code marks render as nothing
  return text.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** Lines outside fenced code blocks, with their 1-based numbers. */
function proseLines(markdown: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fence: string | null = null;
  markdown.split('\n').forEach((text, i) => {
    const mark = /^\s*(```|~~~)/.exec(text)?.[1];
    if (mark && (fence === null || fence === mark)) {
      fence = fence === null ? mark : null;
      return;
    }
    if (fence === null) out.push({ line: i + 1, text });
  });
  return out;
}

/** Every anchor a markdown file offers: its headings' slugs, a repeated one numbered as GitHub does (-1, -2, …). */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { text } of proseLines(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text);
    if (!heading) continue;
    const base = slug(heading[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The relative link targets of a markdown file (inline links and images; code spans and blocks skipped). */
export function links(markdown: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  for (const { line, text } of proseLines(markdown)) {
    const prose = text.replace(/(`+)[^`]*?\1/g, (code) => 'x'.repeat(code.length)); // a code span is text, not a link
    for (const m of prose.matchAll(/!?\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: and the like leave the repository
      out.push({ line, target });
    }
  }
  return out;
}

/** One line per broken link of the given markdown files (paths relative to root): file:line, the target, what is wrong. */
export function brokenLinks(root: string, files: string[]): string[] {
  const problems: string[] = [];
  const anchorsOf = new Map<string, Set<string>>();
  const anchorsIn = (file: string) => {
    if (!anchorsOf.has(file)) anchorsOf.set(file, anchors(readFileSync(file, 'utf8')));
    return anchorsOf.get(file)!;
  };
  for (const file of files) {
    const from = path.join(root, file);
    for (const { line, target } of links(readFileSync(from, 'utf8'))) {
      const hash = target.indexOf('#');
      const pathPart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
      const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
      const to = pathPart === '' ? from : path.resolve(path.dirname(from), pathPart);
      const where = `${file}:${line}: ${target}`;
      if (!existsSync(to)) {
        problems.push(`${where}: no such file (${path.relative(root, to)})`);
      } else if (anchor !== null) {
        if (!to.endsWith('.md')) problems.push(`${where}: an anchor into a file that is not markdown`);
        else if (!anchorsIn(to).has(anchor)) problems.push(`${where}: no heading "#${anchor}" in ${path.relative(root, to)}`);
      }
    }
  }
  return problems;
}

/** README.md and every docs/*.md, relative to root. */
function documentation(root: string): string[] {
  const docs = existsSync(path.join(root, 'docs')) ? readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).sort() : [];
  return ['README.md', ...docs.map((f) => `docs/${f}`)];
}

/** What is wrong with root's README.md's length, or null: it must stay under README_MAX_LINES lines. */
function readmeTooLong(root: string): string | null {
  const lines = readFileSync(path.join(root, 'README.md'), 'utf8').replace(/\n$/, '').split('\n').length;
  return lines < README_MAX_LINES ? null : `README.md has ${lines} lines: keep it under ${README_MAX_LINES}, move the rest to docs/`;
}

describe('the documentation: links and anchors', () => {
  it('slugs headings as GitHub does', () => {
    expect(slug('`kconv serve`: draw a digit, watch the network')).toBe('kconv-serve-draw-a-digit-watch-the-network');
    expect(slug('The 3×3 nets: Winograd convolution')).toBe('the-33-nets-winograd-convolution');
    expect(slug('In the page: `kconv serve --collect`')).toBe('in-the-page-kconv-serve---collect');
    expect(slug('Running kconv: `npx`, signals and `node bin/kconv.js`')).toBe('running-kconv-npx-signals-and-node-binkconvjs');
    expect(slug('ONNX models (`kconv export`)')).toBe('onnx-models-kconv-export');
    expect(slug('snake_case and [a link](x.md)')).toBe('snake_case-and-a-link');
    expect([...anchors('# A\n## B\n```sh\n# not a heading\n```\n## B\n')]).toEqual(['a', 'b', 'b-1']);
  });

  it('README.md and docs/ are there, and every relative link and anchor in them resolves', () => {
    const files = documentation(ROOT);
    expect(files.length).toBeGreaterThan(5); // README.md and the docs pages
    expect(files.reduce((n, f) => n + links(readFileSync(path.join(ROOT, f), 'utf8')).length, 0)).toBeGreaterThan(50);
    expect(brokenLinks(ROOT, files)).toEqual([]);
  });

  it('finds a planted missing file, a missing anchor and a wrong depth from docs/, and passes what is right', () => {
    const root = tempDir('kconv-docs-links-');
    mkdirSync(path.join(root, 'docs'));
    mkdirSync(path.join(root, 'examples'));
    writeFileSync(path.join(root, 'examples', 'serve.png'), '');
    writeFileSync(
      path.join(root, 'README.md'),
      ['# kconv', '', 'See [the commands](docs/commands.md#kconv-train), [a gone page](docs/gone.md),', '[here](#kconv) and [nowhere](#no-such-heading).', ''].join('\n'),
    );
    writeFileSync(
      path.join(root, 'docs', 'commands.md'),
      [
        '# Commands',
        '',
        '## `kconv train`',
        '',
        '![the page](../examples/serve.png) but ![from the wrong depth](examples/serve.png);',
        'back to [the README](../README.md#kconv) and [a stale anchor](../README.md#ensembles).',
        '`[not a link](nowhere.md)`',
        '',
        '```sh',
        'echo "[not a link either](nowhere.md)"',
        '```',
        '',
      ].join('\n'),
    );
    expect(brokenLinks(root, documentation(root))).toEqual([
      'README.md:3: docs/gone.md: no such file (docs/gone.md)',
      'README.md:4: #no-such-heading: no heading "#no-such-heading" in README.md',
      'docs/commands.md:5: examples/serve.png: no such file (docs/examples/serve.png)',
      'docs/commands.md:6: ../README.md#ensembles: no heading "#ensembles" in README.md',
    ]);
  });
});

describe('README.md is a path, not a manual', () => {
  it(`stays under ${README_MAX_LINES} lines`, () => {
    expect(readmeTooLong(ROOT)).toBeNull();
  });

  it('the line count would catch a README grown back into a manual', () => {
    const root = tempDir('kconv-docs-readme-');
    writeFileSync(path.join(root, 'README.md'), '# kconv\n' + 'a line\n'.repeat(README_MAX_LINES - 2));
    expect(readmeTooLong(root)).toBeNull(); // 249 lines
    writeFileSync(path.join(root, 'README.md'), '# kconv\n' + 'a line\n'.repeat(README_MAX_LINES - 1));
    expect(readmeTooLong(root)).toBe(`README.md has ${README_MAX_LINES} lines: keep it under ${README_MAX_LINES}, move the rest to docs/`);
  });
});
