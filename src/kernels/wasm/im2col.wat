;; im2col and col2im of one image (layout and semantics: src/kernels/im2col.ts). Module
;; fields, spliced into kernels-*.wat by build.mjs.
;;
;; For a row (c, ki, kj) of cols, the output positions whose input pixel exists form a
;; rectangle: oy in [ylo, yhi), ox in [lo, hi). Computing it once per row keeps the
;; per-pixel loops free of tests. With stride 1 (most nets) each output row of the
;; rectangle is a contiguous run of an input row, copied (or, in col2im, added) by
;; $copyRect / $addRect (generated with unrolled f32x4 runs: gen-patch-runs.mjs). Other
;; strides go pixel by pixel.
;;
;;   im2col(x, C, H, W, k, stride, pad, OH, OW, cols, ldCols)
;;   col2im(cols, ldCols, C, H, W, k, stride, pad, OH, OW, dx)

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
      (br $l))))

  (func $im2col (export "im2col") (param $x i32) (param $C i32) (param $H i32) (param $W i32) (param $k i32) (param $s i32) (param $pad i32) (param $OH i32) (param $OW i32) (param $cols i32) (param $ld i32)
    (local $c i32) (local $ki i32) (local $kj i32) (local $oy i32) (local $lo i32) (local $hi i32) (local $ylo i32) (local $yhi i32)
    (local $row i32) (local $dst i32) (local $src i32) (local $d i32) (local $e i32) (local $p i32) (local $srcStep i32) (local $pStep i32)
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
          ;; whole output rows that fall in the top/bottom padding
          (call $zero (local.get $row) (i32.mul (local.get $ylo) (local.get $OW)))
          (call $zero (i32.add (local.get $row) (i32.shl (i32.mul (local.get $yhi) (local.get $OW)) (i32.const 2)))
                      (i32.mul (i32.sub (local.get $OH) (local.get $yhi)) (local.get $OW)))
          (if (i32.lt_s (local.get $ylo) (local.get $yhi)) (then
            (local.set $dst (i32.add (local.get $row) (i32.shl (i32.mul (local.get $ylo) (local.get $OW)) (i32.const 2))))
            ;; pixel x[c, ylo·s + ki − pad, lo·s + kj − pad]
            (local.set $src (i32.add (local.get $x) (i32.shl
              (i32.add
                (i32.mul (i32.add (i32.mul (local.get $c) (local.get $H)) (i32.sub (i32.add (i32.mul (local.get $ylo) (local.get $s)) (local.get $ki)) (local.get $pad))) (local.get $W))
                (i32.sub (i32.add (i32.mul (local.get $lo) (local.get $s)) (local.get $kj)) (local.get $pad)))
              (i32.const 2))))
            (if (i32.eq (local.get $s) (i32.const 1))
              (then
                ;; left/right padding of the valid rows, then the rectangle
                (if (i32.or (i32.gt_s (local.get $lo) (i32.const 0)) (i32.lt_s (local.get $hi) (local.get $OW))) (then
                  (local.set $d (local.get $dst))
                  (local.set $oy (local.get $ylo))
                  (loop $padRows
                    (call $zero (local.get $d) (local.get $lo))
                    (call $zero (i32.add (local.get $d) (i32.shl (local.get $hi) (i32.const 2))) (i32.sub (local.get $OW) (local.get $hi)))
                    (local.set $d (i32.add (local.get $d) (i32.shl (local.get $OW) (i32.const 2))))
                    (br_if $padRows (i32.lt_s (local.tee $oy (i32.add (local.get $oy) (i32.const 1))) (local.get $yhi))))))
                (call $copyRect (i32.add (local.get $dst) (i32.shl (local.get $lo) (i32.const 2))) (local.get $src)
                  (i32.sub (local.get $yhi) (local.get $ylo)) (i32.sub (local.get $hi) (local.get $lo))
                  (i32.shl (local.get $OW) (i32.const 2)) (i32.shl (local.get $W) (i32.const 2))))
              (else
                ;; strided: one pixel at a time, after the row's left/right padding
                (local.set $oy (local.get $ylo))
                (loop $oyLoop
                  (if (local.get $lo) (then (call $zero (local.get $dst) (local.get $lo))))
                  (if (i32.lt_s (local.get $hi) (local.get $OW)) (then
                    (call $zero (i32.add (local.get $dst) (i32.shl (local.get $hi) (i32.const 2))) (i32.sub (local.get $OW) (local.get $hi)))))
                  (local.set $d (i32.add (local.get $dst) (i32.shl (local.get $lo) (i32.const 2))))
                  (local.set $e (i32.add (local.get $dst) (i32.shl (local.get $hi) (i32.const 2))))
                  (local.set $p (local.get $src))
                  (block $sdone (loop $sl
                    (br_if $sdone (i32.ge_u (local.get $d) (local.get $e)))
                    (f32.store (local.get $d) (f32.load (local.get $p)))
                    (local.set $d (i32.add (local.get $d) (i32.const 4)))
                    (local.set $p (i32.add (local.get $p) (local.get $pStep)))
                    (br $sl)))
                  (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $OW) (i32.const 2))))
                  (local.set $src (i32.add (local.get $src) (local.get $srcStep)))
                  (br_if $oyLoop (i32.lt_s (local.tee $oy (i32.add (local.get $oy) (i32.const 1))) (local.get $yhi))))))))
          (br_if $kjLoop (i32.lt_s (local.tee $kj (i32.add (local.get $kj) (i32.const 1))) (local.get $k))))
        (br_if $kiLoop (i32.lt_s (local.tee $ki (i32.add (local.get $ki) (i32.const 1))) (local.get $k))))
      (br_if $cLoop (i32.lt_s (local.tee $c (i32.add (local.get $c) (i32.const 1))) (local.get $C)))))

  (func $col2im (export "col2im") (param $cols i32) (param $ld i32) (param $C i32) (param $H i32) (param $W i32) (param $k i32) (param $s i32) (param $pad i32) (param $OH i32) (param $OW i32) (param $x i32)
    (local $c i32) (local $ki i32) (local $kj i32) (local $oy i32) (local $lo i32) (local $hi i32) (local $ylo i32) (local $yhi i32)
    (local $row i32) (local $dst i32) (local $src i32) (local $d i32) (local $e i32) (local $p i32) (local $srcStep i32) (local $pStep i32)
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
          (if (i32.lt_s (local.get $ylo) (local.get $yhi)) (then
            (local.set $dst (i32.add (local.get $row) (i32.shl (i32.mul (local.get $ylo) (local.get $OW)) (i32.const 2))))
            ;; pixel x[c, ylo·s + ki − pad, lo·s + kj − pad]
            (local.set $src (i32.add (local.get $x) (i32.shl
              (i32.add
                (i32.mul (i32.add (i32.mul (local.get $c) (local.get $H)) (i32.sub (i32.add (i32.mul (local.get $ylo) (local.get $s)) (local.get $ki)) (local.get $pad))) (local.get $W))
                (i32.sub (i32.add (i32.mul (local.get $lo) (local.get $s)) (local.get $kj)) (local.get $pad)))
              (i32.const 2))))
            (if (i32.eq (local.get $s) (i32.const 1))
              (then
                ;; the rectangle added back onto the image
                (call $addRect (local.get $src) (i32.add (local.get $dst) (i32.shl (local.get $lo) (i32.const 2)))
                  (i32.sub (local.get $yhi) (local.get $ylo)) (i32.sub (local.get $hi) (local.get $lo))
                  (i32.shl (local.get $W) (i32.const 2)) (i32.shl (local.get $OW) (i32.const 2))))
              (else
                ;; strided: one pixel at a time
                (local.set $oy (local.get $ylo))
                (loop $oyLoop
                  (local.set $d (i32.add (local.get $dst) (i32.shl (local.get $lo) (i32.const 2))))
                  (local.set $e (i32.add (local.get $dst) (i32.shl (local.get $hi) (i32.const 2))))
                  (local.set $p (local.get $src))
                  (block $sdone (loop $sl
                    (br_if $sdone (i32.ge_u (local.get $d) (local.get $e)))
                    (f32.store (local.get $p) (f32.add (f32.load (local.get $p)) (f32.load (local.get $d))))
                    (local.set $d (i32.add (local.get $d) (i32.const 4)))
                    (local.set $p (i32.add (local.get $p) (local.get $pStep)))
                    (br $sl)))
                  (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $OW) (i32.const 2))))
                  (local.set $src (i32.add (local.get $src) (local.get $srcStep)))
                  (br_if $oyLoop (i32.lt_s (local.tee $oy (i32.add (local.get $oy) (i32.const 1))) (local.get $yhi))))))))
          (br_if $kjLoop (i32.lt_s (local.tee $kj (i32.add (local.get $kj) (i32.const 1))) (local.get $k))))
        (br_if $kiLoop (i32.lt_s (local.tee $ki (i32.add (local.get $ki) (i32.const 1))) (local.get $k))))
      (br_if $cLoop (i32.lt_s (local.tee $c (i32.add (local.get $c) (i32.const 1))) (local.get $C)))))
