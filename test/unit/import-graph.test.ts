/**
 * The folders of src/ form layers: a folder may import from the folders below it, never the
 * other way round, so any one of them can be read (and changed) knowing only what is beneath.
 * This reads every relative import of src/ (type-only imports and dynamic import() included:
 * a type import is still a dependency a reader must follow) and fails on any cycle between
 * folders, naming the files that make each edge.
 */
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../src');
const IMPORT = /(?:\bimport|\bexport)\s[^'"]*?\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]|\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** folder → folder → the files of the first folder that import from the second. */
type FolderGraph = Map<string, Map<string, Set<string>>>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'public' ? [] : sourceFiles(p); // the served page is not a module of the library
    return /\.(ts|mts|mjs|js)$/.test(e.name) ? [p] : [];
  });
}

function folderOf(root: string, file: string): string {
  const parts = path.relative(root, file).split(path.sep);
  return parts.length > 1 ? parts[0] : '.';
}

function folderGraph(root: string): FolderGraph {
  const graph: FolderGraph = new Map();
  for (const file of sourceFiles(root)) {
    const from = folderOf(root, file);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = path.resolve(path.dirname(file), m[1] ?? m[2]);
      if (path.relative(root, target).startsWith('..')) continue;
      const to = folderOf(root, target);
      if (to === from || from === '.' || to === '.') continue; // top-level files (errors.ts, random.ts, index.ts) sit outside the layers
      if (!graph.has(from)) graph.set(from, new Map());
      const edges = graph.get(from)!;
      if (!edges.has(to)) edges.set(to, new Set());
      edges.get(to)!.add(path.relative(root, file));
    }
  }
  return graph;
}

/** Every cycle through the graph's edges, each as its folders in order, found by depth-first search. */
function cycles(graph: FolderGraph): string[][] {
  const found = new Map<string, string[]>();
  const walk = (start: string, at: string, pathSoFar: string[]): void => {
    for (const next of graph.get(at)?.keys() ?? []) {
      if (next === start) {
        const key = [...pathSoFar].sort().join(',');
        if (!found.has(key)) found.set(key, [...pathSoFar, start]);
      } else if (!pathSoFar.includes(next) && next > start) {
        walk(start, next, [...pathSoFar, next]); // only cycles whose smallest folder is `start`: each found once
      }
    }
  };
  for (const folder of [...graph.keys()].sort()) walk(folder, folder, [folder]);
  return [...found.values()];
}

function describeCycle(graph: FolderGraph, cycle: string[]): string {
  return cycle
    .slice(0, -1)
    .map((from, i) => `${from} → ${cycle[i + 1]} (${[...graph.get(from)!.get(cycle[i + 1])!].join(', ')})`)
    .join('; ');
}

describe('the folders of src/', () => {
  it('import one another without a cycle', () => {
    const graph = folderGraph(SRC);
    expect(graph.size).toBeGreaterThan(10); // the reader found the layers at all
    const problems = cycles(graph).map((c) => describeCycle(graph, c));
    expect(problems).toEqual([]);
  });

  it('a planted cycle is caught, through a type-only import and a dynamic import, with the files named', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'kconv-graph-'));
    try {
      for (const dir of ['low', 'mid', 'high']) mkdirSync(path.join(root, dir));
      writeFileSync(path.join(root, 'low/a.ts'), "import type { M } from '../mid/m.js';\nexport const a = 1;\n");
      writeFileSync(path.join(root, 'mid/m.ts'), "export type M = number;\nexport const load = () => import('../high/h.js');\n");
      writeFileSync(path.join(root, 'high/h.ts'), "import { a } from '../low/a.js';\nexport const h = a;\n");
      const graph = folderGraph(root);
      const found = cycles(graph);
      expect(found).toHaveLength(1);
      expect(describeCycle(graph, found[0])).toBe('high → low (high/h.ts); low → mid (low/a.ts); mid → high (mid/m.ts)');
      rmSync(path.join(root, 'low/a.ts'));
      writeFileSync(path.join(root, 'low/a.ts'), 'export const a = 1;\n');
      expect(cycles(folderGraph(root))).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
