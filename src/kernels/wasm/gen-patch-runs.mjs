// @ts-check
/**
 * Generates the run loops of im2col and col2im (im2col.wat): with stride 1 each valid
 * output row of a patch row is a contiguous run of an input row, copied ($copyRect, for
 * im2col) or added ($addRect, for col2im) with f32x4. The runs are short (8 floats for a
 * 5×5 kernel on 12×12), so the per-run bookkeeping, not memory, is what costs: runs of
 * 4·v floats (v ≤ MAX_UNROLL) get a loop with the v vectors unrolled (about twice as
 * fast as one generic loop), which is what is generated here.
 */

const MAX_UNROLL = 8;

/**
 * $<name>(d, s, rows, n, dStep, sStep): for each of `rows` runs, op(d[0..n), s[0..n)),
 * then d += dStep, s += sStep bytes. `vec(offset)` / `scalar` are the op's statements.
 * @param {string} name
 * @param {(offset: number, d?: string, s?: string) => string} vec the op on one f32x4 at byte `offset`
 * @param {(d: string, s: string) => string} scalar the op on one float
 */
function rectLoops(name, vec, scalar) {
  const fns = [];
  for (let v = 1; v <= MAX_UNROLL; v++) {
    const body = Array.from({ length: v }, (_, i) => vec(16 * i)).join('\n        ');
    fns.push(`
  (func $${name}${v} (param $d i32) (param $s i32) (param $rows i32) (param $dStep i32) (param $sStep i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $d) (i32.mul (local.get $rows) (local.get $dStep))))
    (loop $run
        ${body}
      (local.set $s (i32.add (local.get $s) (local.get $sStep)))
      (br_if $run (i32.lt_u (local.tee $d (i32.add (local.get $d) (local.get $dStep))) (local.get $end)))))`);
  }
  let dispatch = '';
  for (let v = 1; v <= MAX_UNROLL; v++) {
    dispatch += `
    (if (i32.eq (local.get $n) (i32.const ${4 * v})) (then
      (call $${name}${v} (local.get $d) (local.get $s) (local.get $rows) (local.get $dStep) (local.get $sStep)) (return)))`;
  }
  fns.push(`
  (func $${name} (param $d i32) (param $s i32) (param $rows i32) (param $n i32) (param $dStep i32) (param $sStep i32)
    (local $o i32) (local $vecBytes i32) (local $nBytes i32) (local $r i32)
    (if (i32.or (i32.le_s (local.get $rows) (i32.const 0)) (i32.le_s (local.get $n) (i32.const 0))) (then (return)))
    ${dispatch}
    (local.set $nBytes (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecBytes (i32.and (local.get $nBytes) (i32.const -16)))
    (loop $run
      (local.set $o (i32.const 0))
      (block $vdone (loop $vl
        (br_if $vdone (i32.ge_u (local.get $o) (local.get $vecBytes)))
        ${vec(0, '(i32.add (local.get $d) (local.get $o))', '(i32.add (local.get $s) (local.get $o))')}
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $vl)))
      (block $sdone (loop $sl
        (br_if $sdone (i32.ge_u (local.get $o) (local.get $nBytes)))
        ${scalar('(i32.add (local.get $d) (local.get $o))', '(i32.add (local.get $s) (local.get $o))')}
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $sl)))
      (local.set $d (i32.add (local.get $d) (local.get $dStep)))
      (local.set $s (i32.add (local.get $s) (local.get $sStep)))
      (br_if $run (i32.lt_s (local.tee $r (i32.add (local.get $r) (i32.const 1))) (local.get $rows)))))`);
  return fns.join('\n');
}

const D = '(local.get $d)', S = '(local.get $s)';

/** copyRect: d[] = s[] (im2col); addRect: d[] += s[] (col2im). */
/** The WAT of $copyRect and $addRect with their unrolled runs (module fields). */
export function patchRuns() {
  return [
    rectLoops('copyRect',
      (off, d = D, s = S) => `(v128.store offset=${off} ${d} (v128.load offset=${off} ${s}))`,
      (d, s) => `(f32.store ${d} (f32.load ${s}))`),
    rectLoops('addRect',
      (off, d = D, s = S) => `(v128.store offset=${off} ${d} (f32x4.add (v128.load offset=${off} ${d}) (v128.load offset=${off} ${s})))`,
      (d, s) => `(f32.store ${d} (f32.add (f32.load ${d}) (f32.load ${s})))`),
  ].join('\n');
}
