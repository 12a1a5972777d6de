/**
 * WAT for im2col/col2im of one image (layout and semantics: see src/kernels/im2col.ts).
 *
 * For a row (c, ki, kj) of cols, the output positions whose input pixel exists form a
 * rectangle: oy in [ylo, yhi), ox in [lo, hi). Computing it once per row keeps the
 * per-pixel loops free of tests; with stride 1 each output row is a contiguous run of
 * the input row, copied (or, in col2im, added) with f32x4.
 */

export function patchHelpers() {
  return `
  ;; First o in [0, n) whose input coordinate o·s + kk − pad is ≥ 0 (n when none).
  (func $validLo (param $s i32) (param $pad i32) (param $kk i32) (param $n i32) (result i32)
    (local $t i32)
    (local.set $t (i32.sub (local.get $pad) (local.get $kk)))
    (if (i32.le_s (local.get $t) (i32.const 0)) (then (return (i32.const 0))))
    (call $min (local.get $n) (i32.div_s (i32.add (local.get $t) (i32.sub (local.get $s) (i32.const 1))) (local.get $s))))
  ;; One past the last o in [0, n) whose input coordinate is < size; never below lo.
  (func $validHi (param $s i32) (param $pad i32) (param $kk i32) (param $size i32) (param $n i32) (param $lo i32) (result i32)
    (local $t i32)
    (local.set $t (i32.sub (i32.add (i32.sub (local.get $size) (i32.const 1)) (local.get $pad)) (local.get $kk)))
    (if (i32.lt_s (local.get $t) (i32.const 0)) (then (return (local.get $lo))))
    (if (i32.ne (local.get $s) (i32.const 1)) (then (local.set $t (i32.div_s (local.get $t) (local.get $s)))))
    (local.set $t (call $min (local.get $n) (i32.add (local.get $t) (i32.const 1))))
    (select (local.get $lo) (local.get $t) (i32.lt_s (local.get $t) (local.get $lo))))
  ;; n floats of zeros (padding); short runs inline, long ones by memory.fill.
  (func $zero (param $dst i32) (param $n i32)
    (local $end i32)
    (if (i32.ge_s (local.get $n) (i32.const 16)) (then
      (memory.fill (local.get $dst) (i32.const 0) (i32.shl (local.get $n) (i32.const 2)))
      (return)))
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
      (f32.store (local.get $dst) (f32.const 0))
      (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
      (br $l))))`;
}

const params = '(param $C i32) (param $H i32) (param $W i32) (param $k i32) (param $s i32) (param $pad i32) (param $OH i32) (param $OW i32)';
const locals = `(local $c i32) (local $ki i32) (local $kj i32) (local $oy i32) (local $lo i32) (local $hi i32) (local $ylo i32) (local $yhi i32)
    (local $row i32) (local $dst i32) (local $src i32) (local $d i32) (local $e i32) (local $p i32) (local $srcStep i32) (local $pStep i32) (local $vecBytes i32) (local $vecEnd i32)`;

/**
 * The loops over (c, ki, kj) and the valid output rows, shared by both directions.
 * `perRow` runs once per (c, ki, kj) before the rows (zero padding rows in im2col);
 * `run` runs per valid output row with $d..$e the cols run and $p the first pixel.
 */
function patchLoops({ perRow, beforeRun, run }) {
  return `
    (if (i32.or (i32.or (i32.le_s (local.get $C) (i32.const 0)) (i32.le_s (local.get $k) (i32.const 0)))
                (i32.or (i32.le_s (local.get $OH) (i32.const 0)) (i32.le_s (local.get $OW) (i32.const 0)))) (then (return)))
    (local.set $srcStep (i32.shl (i32.mul (local.get $s) (local.get $W)) (i32.const 2)))
    (local.set $pStep (i32.shl (local.get $s) (i32.const 2)))
    (local.set $c (i32.const 0))
    (loop $cLoop
      (local.set $ki (i32.const 0))
      (loop $kiLoop
        (local.set $ylo (call $validLo (local.get $s) (local.get $pad) (local.get $ki) (local.get $OH)))
        (local.set $yhi (call $validHi (local.get $s) (local.get $pad) (local.get $ki) (local.get $H) (local.get $OH) (local.get $ylo)))
        (local.set $kj (i32.const 0))
        (loop $kjLoop
          (local.set $lo (call $validLo (local.get $s) (local.get $pad) (local.get $kj) (local.get $OW)))
          (local.set $hi (call $validHi (local.get $s) (local.get $pad) (local.get $kj) (local.get $W) (local.get $OW) (local.get $lo)))
          ;; row (c·k + ki)·k + kj of cols
          (local.set $row (i32.add (local.get $cols) (i32.shl (i32.mul (local.get $ld)
            (i32.add (i32.mul (i32.add (i32.mul (local.get $c) (local.get $k)) (local.get $ki)) (local.get $k)) (local.get $kj))) (i32.const 2))))
          (local.set $vecBytes (select (i32.shl (i32.shr_u (i32.sub (local.get $hi) (local.get $lo)) (i32.const 2)) (i32.const 4)) (i32.const 0)
            (i32.eq (local.get $s) (i32.const 1))))
          ${perRow}
          (if (i32.lt_s (local.get $ylo) (local.get $yhi)) (then
            (local.set $dst (i32.add (local.get $row) (i32.shl (i32.mul (local.get $ylo) (local.get $OW)) (i32.const 2))))
            ;; pixel x[c, ylo·s + ki − pad, lo·s + kj − pad]
            (local.set $src (i32.add (local.get $x) (i32.shl
              (i32.add
                (i32.mul (i32.add (i32.mul (local.get $c) (local.get $H)) (i32.sub (i32.add (i32.mul (local.get $ylo) (local.get $s)) (local.get $ki)) (local.get $pad))) (local.get $W))
                (i32.sub (i32.add (i32.mul (local.get $lo) (local.get $s)) (local.get $kj)) (local.get $pad)))
              (i32.const 2))))
            (local.set $oy (local.get $ylo))
            (loop $oyLoop
              ${beforeRun}
              (local.set $d (i32.add (local.get $dst) (i32.shl (local.get $lo) (i32.const 2))))
              (local.set $e (i32.add (local.get $dst) (i32.shl (local.get $hi) (i32.const 2))))
              (local.set $p (local.get $src))
              ;; stride 1: $vecEnd marks where whole f32x4 runs stop (set per (c, ki, kj))
              (if (local.get $vecBytes) (then
                (local.set $vecEnd (i32.add (local.get $d) (local.get $vecBytes)))
                (loop $vl
                  ${run.vector}
                  (local.set $d (i32.add (local.get $d) (i32.const 16)))
                  (local.set $p (i32.add (local.get $p) (i32.const 16)))
                  (br_if $vl (i32.lt_u (local.get $d) (local.get $vecEnd))))))
              (block $sdone (loop $sl
                (br_if $sdone (i32.ge_u (local.get $d) (local.get $e)))
                ${run.scalar}
                (local.set $d (i32.add (local.get $d) (i32.const 4)))
                (local.set $p (i32.add (local.get $p) (local.get $pStep)))
                (br $sl)))
              (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $OW) (i32.const 2))))
              (local.set $src (i32.add (local.get $src) (local.get $srcStep)))
              (br_if $oyLoop (i32.lt_s (local.tee $oy (i32.add (local.get $oy) (i32.const 1))) (local.get $yhi))))))
          (br_if $kjLoop (i32.lt_s (local.tee $kj (i32.add (local.get $kj) (i32.const 1))) (local.get $k))))
        (br_if $kiLoop (i32.lt_s (local.tee $ki (i32.add (local.get $ki) (i32.const 1))) (local.get $k))))
      (br_if $cLoop (i32.lt_s (local.tee $c (i32.add (local.get $c) (i32.const 1))) (local.get $C))))`;
}

export function im2col() {
  return `
  (func (export "im2col") (param $x i32) ${params} (param $cols i32) (param $ld i32)
    ${locals}
    ${patchLoops({
    // whole output rows that fall in the top/bottom padding
    perRow: `
          (call $zero (local.get $row) (i32.mul (local.get $ylo) (local.get $OW)))
          (call $zero (i32.add (local.get $row) (i32.shl (i32.mul (local.get $yhi) (local.get $OW)) (i32.const 2)))
                      (i32.mul (i32.sub (local.get $OH) (local.get $yhi)) (local.get $OW)))`,
    // left/right padding of one output row
    beforeRun: `
              (if (local.get $lo) (then (call $zero (local.get $dst) (local.get $lo))))
              (if (i32.lt_s (local.get $hi) (local.get $OW)) (then
                (call $zero (i32.add (local.get $dst) (i32.shl (local.get $hi) (i32.const 2))) (i32.sub (local.get $OW) (local.get $hi)))))`,
    run: {
      vector: '(v128.store (local.get $d) (v128.load (local.get $p)))',
      scalar: '(f32.store (local.get $d) (f32.load (local.get $p)))',
    },
  })})`;
}

export function col2im() {
  return `
  (func (export "col2im") (param $cols i32) (param $ld i32) ${params} (param $x i32)
    ${locals}
    ${patchLoops({
    perRow: '',
    beforeRun: '',
    run: {
      vector: '(v128.store (local.get $p) (f32x4.add (v128.load (local.get $p)) (v128.load (local.get $d))))',
      scalar: '(f32.store (local.get $p) (f32.add (f32.load (local.get $p)) (f32.load (local.get $d))))',
    },
  })})`;
}
