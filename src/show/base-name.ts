// Apart from layout.ts so that what only names a model (cli/weights.ts, for kconv predict)
// does not load the canvas and compile the bitmap font at start-up.
/** The last part of a path, as a title shows it. */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}
