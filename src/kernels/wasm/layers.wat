;; Element-wise and pooling kernels of the layers (semantics and the TypeScript references:
;; src/kernels/elementwise.ts and src/kernels/pooling.ts). Module fields, spliced into
;; kernels-*.wat by build.mjs. These are memory-bound loops; what makes them fast in wasm
;; is f32x4 and, above all, selects instead of branches: the sign of an activation is
;; random, so a branch on it mispredicts about half the time.
;;
;; Exports (pointers are byte addresses, counts in elements):
;;   reluForward(x, y, n)                 y = x > 0 ? x : 0
;;   reluBackward(y, g, dx, n)            dx = y > 0 ? g : 0
;;   maxPoolForward(x, planes, H, W, k, s, OH, OW, y, argmax)
;;   maxPoolBackward(g, argmax, planes, H, W, k, s, OH, OW, dx)
;;   channelAffine(y, planes, F, P, scale, shift, relu)   a convolution's epilogue, in place

  ;; f32x4.pmax(0, x) is (0 < x) ? x : 0, exactly the scalar rule (NaN and -0 give +0).
  (func $reluForward (export "reluForward") (param $x i32) (param $y i32) (param $n i32)
    (local $d i32) (local $vend i32) (local $end i32) (local $v f32)
    (local.set $d (i32.sub (local.get $y) (local.get $x)))
    (local.set $vend (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $vdone (loop $vl
      (br_if $vdone (i32.ge_u (local.get $x) (local.get $vend)))
      (v128.store (i32.add (local.get $x) (local.get $d)) (f32x4.pmax (v128.const i32x4 0 0 0 0) (v128.load (local.get $x))))
      (v128.store offset=16 (i32.add (local.get $x) (local.get $d)) (f32x4.pmax (v128.const i32x4 0 0 0 0) (v128.load offset=16 (local.get $x))))
      (local.set $x (i32.add (local.get $x) (i32.const 32)))
      (br $vl)))
    (block $done (loop $sl
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $v (f32.load (local.get $x)))
      (f32.store (i32.add (local.get $x) (local.get $d)) (select (local.get $v) (f32.const 0) (f32.gt (local.get $v) (f32.const 0))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (br $sl))))

  ;; dx = g where y > 0 (a mask from the comparison), else +0.
  (func $reluBackward (export "reluBackward") (param $y i32) (param $g i32) (param $dx i32) (param $n i32)
    (local $dg i32) (local $dd i32) (local $vend i32) (local $end i32)
    (local.set $dg (i32.sub (local.get $g) (local.get $y)))
    (local.set $dd (i32.sub (local.get $dx) (local.get $y)))
    (local.set $vend (i32.add (local.get $y) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (local.set $end (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))))
    (block $vdone (loop $vl
      (br_if $vdone (i32.ge_u (local.get $y) (local.get $vend)))
      (v128.store (i32.add (local.get $y) (local.get $dd))
        (v128.and (v128.load (i32.add (local.get $y) (local.get $dg))) (f32x4.gt (v128.load (local.get $y)) (v128.const i32x4 0 0 0 0))))
      (v128.store offset=16 (i32.add (local.get $y) (local.get $dd))
        (v128.and (v128.load offset=16 (i32.add (local.get $y) (local.get $dg))) (f32x4.gt (v128.load offset=16 (local.get $y)) (v128.const i32x4 0 0 0 0))))
      (local.set $y (i32.add (local.get $y) (i32.const 32)))
      (br $vl)))
    (block $done (loop $sl
      (br_if $done (i32.ge_u (local.get $y) (local.get $end)))
      (f32.store (i32.add (local.get $y) (local.get $dd))
        (select (f32.load (i32.add (local.get $y) (local.get $dg))) (f32.const 0) (f32.gt (f32.load (local.get $y)) (f32.const 0))))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (br $sl))))

  (func $maxPoolGeneral (param $x i32) (param $planes i32) (param $H i32) (param $W i32) (param $k i32) (param $s i32)
    (param $OH i32) (param $OW i32) (param $y i32) (param $am i32)
    (local $plane i32) (local $base i32) (local $oy i32) (local $ox i32) (local $ki i32) (local $kj i32)
    (local $start i32) (local $row i32) (local $idx i32) (local $best i32) (local $bestVal f32) (local $v f32) (local $gt i32)
    (local.set $plane (i32.const 0))
    (loop $planeLoop
      (local.set $base (i32.mul (local.get $plane) (i32.mul (local.get $H) (local.get $W))))
      (local.set $oy (i32.const 0))
      (loop $oyLoop
        (local.set $ox (i32.const 0))
        (loop $oxLoop
          (local.set $start (i32.add (local.get $base) (i32.add
            (i32.mul (i32.mul (local.get $oy) (local.get $s)) (local.get $W)) (i32.mul (local.get $ox) (local.get $s)))))
          (local.set $best (local.get $start))
          (local.set $bestVal (f32.load (i32.add (local.get $x) (i32.shl (local.get $best) (i32.const 2)))))
          (local.set $ki (i32.const 0))
          (loop $kiLoop
            (local.set $row (i32.add (local.get $start) (i32.mul (local.get $ki) (local.get $W))))
            (local.set $kj (i32.const 0))
            (loop $kjLoop
              (local.set $idx (i32.add (local.get $row) (local.get $kj)))
              (local.set $v (f32.load (i32.add (local.get $x) (i32.shl (local.get $idx) (i32.const 2)))))
              (local.set $gt (f32.gt (local.get $v) (local.get $bestVal)))
              (local.set $bestVal (select (local.get $v) (local.get $bestVal) (local.get $gt)))
              (local.set $best (select (local.get $idx) (local.get $best) (local.get $gt)))
              (br_if $kjLoop (i32.lt_s (local.tee $kj (i32.add (local.get $kj) (i32.const 1))) (local.get $k))))
            (br_if $kiLoop (i32.lt_s (local.tee $ki (i32.add (local.get $ki) (i32.const 1))) (local.get $k))))
          (f32.store (local.get $y) (local.get $bestVal))
          (i32.store (local.get $am) (local.get $best))
          (local.set $y (i32.add (local.get $y) (i32.const 4)))
          (local.set $am (i32.add (local.get $am) (i32.const 4)))
          (br_if $oxLoop (i32.lt_s (local.tee $ox (i32.add (local.get $ox) (i32.const 1))) (local.get $OW))))
        (br_if $oyLoop (i32.lt_s (local.tee $oy (i32.add (local.get $oy) (i32.const 1))) (local.get $OH))))
      (br_if $planeLoop (i32.lt_s (local.tee $plane (i32.add (local.get $plane) (i32.const 1))) (local.get $planes)))))

  (func $maxPool2x2 (param $x i32) (param $planes i32) (param $H i32) (param $W i32) (param $OH i32) (param $OW i32)
    (param $y i32) (param $am i32)
    (local $plane i32) (local $oy i32) (local $ox i32) (local $idx i32) (local $p i32) (local $Wb i32) (local $vecOW i32)
    (local $r0a v128) (local $r0b v128) (local $r1a v128) (local $r1b v128)
    (local $best v128) (local $bi v128) (local $m v128) (local $i0 v128) (local $W4 v128) (local $back i32)
    (local.set $Wb (i32.shl (local.get $W) (i32.const 2)))
    (local.set $W4 (i32x4.splat (local.get $W)))
    (local.set $vecOW (i32.and (local.get $OW) (i32.const -4)))
    (local.set $plane (i32.const 0))
    (loop $planeLoop
      (local.set $oy (i32.const 0))
      (loop $oyLoop
        ;; $idx: index of the window's top-left input, $p its address
        (local.set $idx (i32.add (i32.mul (local.get $plane) (i32.mul (local.get $H) (local.get $W)))
          (i32.mul (i32.shl (local.get $oy) (i32.const 1)) (local.get $W))))
        (local.set $p (i32.add (local.get $x) (i32.shl (local.get $idx) (i32.const 2))))
        (local.set $ox (i32.const 0))
        (block $vdone (loop $vl
          (if (i32.ge_s (local.get $ox) (local.get $vecOW)) (then
            (br_if $vdone (i32.ge_s (local.get $ox) (local.get $OW)))
            (br_if $vdone (i32.lt_s (local.get $OW) (i32.const 4)))
            ;; the last OW % 4 windows: step back to the row's last four and redo those
            ;; (the overlap is written twice with the same values), one more vector
            (local.set $back (i32.sub (local.get $ox) (i32.sub (local.get $OW) (i32.const 4))))
            (local.set $p (i32.sub (local.get $p) (i32.shl (local.get $back) (i32.const 3))))
            (local.set $idx (i32.sub (local.get $idx) (i32.shl (local.get $back) (i32.const 1))))
            (local.set $y (i32.sub (local.get $y) (i32.shl (local.get $back) (i32.const 2))))
            (local.set $am (i32.sub (local.get $am) (i32.shl (local.get $back) (i32.const 2))))
            (local.set $ox (i32.sub (local.get $OW) (i32.const 4)))))
          (local.set $r0a (v128.load (local.get $p)))
          (local.set $r0b (v128.load offset=16 (local.get $p)))
          (local.set $r1a (v128.load (i32.add (local.get $p) (local.get $Wb))))
          (local.set $r1b (v128.load offset=16 (i32.add (local.get $p) (local.get $Wb))))
          (local.set $i0 (i32x4.add (i32x4.splat (local.get $idx)) (v128.const i32x4 0 2 4 6)))
          ;; scan order: (0,0) (0,1) (1,0) (1,1)
          ;; i8x16.shuffle 0…3 8…11 16…19 24…27 takes the even floats of 8 (r0a, r0b),
          ;; 4…7 12…15 20…23 28…31 the odd ones: the two columns of four windows.
          (local.set $best (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $r0a) (local.get $r0b)))
          (local.set $bi (local.get $i0))
          ;; each later candidate: where it is strictly greater, take it and its index
          (local.set $m (f32x4.gt (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $r0a) (local.get $r0b)) (local.get $best)))
          (local.set $best (v128.bitselect (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $r0a) (local.get $r0b)) (local.get $best) (local.get $m)))
          (local.set $bi (v128.bitselect (i32x4.add (local.get $i0) (v128.const i32x4 1 1 1 1)) (local.get $bi) (local.get $m)))
          (local.set $m (f32x4.gt (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $r1a) (local.get $r1b)) (local.get $best)))
          (local.set $best (v128.bitselect (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $r1a) (local.get $r1b)) (local.get $best) (local.get $m)))
          (local.set $bi (v128.bitselect (i32x4.add (local.get $i0) (local.get $W4)) (local.get $bi) (local.get $m)))
          (local.set $m (f32x4.gt (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $r1a) (local.get $r1b)) (local.get $best)))
          (local.set $best (v128.bitselect (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $r1a) (local.get $r1b)) (local.get $best) (local.get $m)))
          (local.set $bi (v128.bitselect (i32x4.add (i32x4.add (local.get $i0) (local.get $W4)) (v128.const i32x4 1 1 1 1)) (local.get $bi) (local.get $m)))
          (v128.store (local.get $y) (local.get $best))
          (v128.store (local.get $am) (local.get $bi))
          (local.set $y (i32.add (local.get $y) (i32.const 16)))
          (local.set $am (i32.add (local.get $am) (i32.const 16)))
          (local.set $p (i32.add (local.get $p) (i32.const 32)))
          (local.set $idx (i32.add (local.get $idx) (i32.const 8)))
          (local.set $ox (i32.add (local.get $ox) (i32.const 4)))
          (br $vl)))
        ;; rows narrower than four windows: the general loop on a 1×OW output
        (if (i32.lt_s (local.get $ox) (local.get $OW)) (then
          (call $maxPoolGeneral (local.get $p) (i32.const 1) (local.get $H) (local.get $W) (i32.const 2) (i32.const 2)
            (i32.const 1) (i32.sub (local.get $OW) (local.get $ox)) (local.get $y) (local.get $am))
          ;; its indices are relative to $p: rebase them on x
          (block $fixed (loop $fix
            (br_if $fixed (i32.ge_s (local.get $ox) (local.get $OW)))
            (i32.store (local.get $am) (i32.add (i32.load (local.get $am)) (local.get $idx)))
            (local.set $y (i32.add (local.get $y) (i32.const 4)))
            (local.set $am (i32.add (local.get $am) (i32.const 4)))
            (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
            (br $fix)))))
        (br_if $oyLoop (i32.lt_s (local.tee $oy (i32.add (local.get $oy) (i32.const 1))) (local.get $OH))))
      (br_if $planeLoop (i32.lt_s (local.tee $plane (i32.add (local.get $plane) (i32.const 1))) (local.get $planes)))))

  (func $maxPoolForward (export "maxPoolForward") (param $x i32) (param $planes i32) (param $H i32) (param $W i32) (param $k i32) (param $s i32)
    (param $OH i32) (param $OW i32) (param $y i32) (param $am i32)
    (if (i32.or (i32.or (i32.le_s (local.get $planes) (i32.const 0)) (i32.le_s (local.get $OH) (i32.const 0)))
                (i32.le_s (local.get $OW) (i32.const 0))) (then (return)))
    (if (i32.and (i32.eq (local.get $k) (i32.const 2)) (i32.eq (local.get $s) (i32.const 2)))
      (then (call $maxPool2x2 (local.get $x) (local.get $planes) (local.get $H) (local.get $W) (local.get $OH) (local.get $OW) (local.get $y) (local.get $am)))
      (else (call $maxPoolGeneral (local.get $x) (local.get $planes) (local.get $H) (local.get $W) (local.get $k) (local.get $s)
        (local.get $OH) (local.get $OW) (local.get $y) (local.get $am)))))

  ;; dx[argmax[i]] += g[i]; an index outside dx's $size elements traps instead of
  ;; writing into a neighbouring buffer.
  (func $scatterAdd (param $g i32) (param $am i32) (param $n i32) (param $dx i32) (param $size i32)
    (local $end i32) (local $d i32) (local $i i32)
    (local.set $end (i32.add (local.get $g) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $g) (local.get $end)))
      (local.set $i (i32.load (local.get $am)))
      (if (i32.ge_u (local.get $i) (local.get $size)) (then (unreachable)))
      (local.set $d (i32.add (local.get $dx) (i32.shl (local.get $i) (i32.const 2))))
      (f32.store (local.get $d) (f32.add (f32.load (local.get $d)) (f32.load (local.get $g))))
      (local.set $g (i32.add (local.get $g) (i32.const 4)))
      (local.set $am (i32.add (local.get $am) (i32.const 4)))
      (br $l))))

  (func $maxPool2x2Backward (param $g i32) (param $am i32) (param $planes i32) (param $H i32) (param $W i32)
    (param $OH i32) (param $OW i32) (param $dx i32)
    (local $plane i32) (local $oy i32) (local $ox i32) (local $idx i32) (local $p i32) (local $Wb i32) (local $vecOW i32)
    (local $g4 v128) (local $a4 v128) (local $i0 v128) (local $i1 v128) (local $e v128) (local $o v128) (local $W4 v128) (local $back i32)
    (local.set $Wb (i32.shl (local.get $W) (i32.const 2)))
    (local.set $W4 (i32x4.splat (local.get $W)))
    (local.set $vecOW (i32.and (local.get $OW) (i32.const -4)))
    (local.set $plane (i32.const 0))
    (loop $planeLoop
      (local.set $oy (i32.const 0))
      (loop $oyLoop
        (local.set $idx (i32.add (i32.mul (local.get $plane) (i32.mul (local.get $H) (local.get $W)))
          (i32.mul (i32.shl (local.get $oy) (i32.const 1)) (local.get $W))))
        (local.set $p (i32.add (local.get $dx) (i32.shl (local.get $idx) (i32.const 2))))
        (local.set $ox (i32.const 0))
        (block $vdone (loop $vl
          (if (i32.ge_s (local.get $ox) (local.get $vecOW)) (then
            (br_if $vdone (i32.ge_s (local.get $ox) (local.get $OW)))
            (br_if $vdone (i32.lt_s (local.get $OW) (i32.const 4)))
            ;; the last OW % 4 windows: step back to the row's last four and write those
            ;; again (stores, not sums: the overlap gets the same values twice)
            (local.set $back (i32.sub (local.get $ox) (i32.sub (local.get $OW) (i32.const 4))))
            (local.set $g (i32.sub (local.get $g) (i32.shl (local.get $back) (i32.const 2))))
            (local.set $am (i32.sub (local.get $am) (i32.shl (local.get $back) (i32.const 2))))
            (local.set $p (i32.sub (local.get $p) (i32.shl (local.get $back) (i32.const 3))))
            (local.set $idx (i32.sub (local.get $idx) (i32.shl (local.get $back) (i32.const 1))))
            (local.set $ox (i32.sub (local.get $OW) (i32.const 4)))))
          (local.set $g4 (v128.load (local.get $g)))
          (local.set $a4 (v128.load (local.get $am)))
          (local.set $i0 (i32x4.add (i32x4.splat (local.get $idx)) (v128.const i32x4 0 2 4 6)))
          (local.set $i1 (i32x4.add (local.get $i0) (local.get $W4)))
          ;; top row: even positions (dx,0), odd (dx,1), interleaved back into 8 floats
          (local.set $e (f32x4.add (v128.and (local.get $g4) (i32x4.eq (local.get $a4) (local.get $i0))) (v128.const i32x4 0 0 0 0)))
          (local.set $o (f32x4.add (v128.and (local.get $g4) (i32x4.eq (local.get $a4) (i32x4.add (local.get $i0) (v128.const i32x4 1 1 1 1)))) (v128.const i32x4 0 0 0 0)))
          ;; interleave e and o back into 8 consecutive floats (e0 o0 e1 o1, then e2 o2 e3 o3)
          (v128.store (local.get $p) (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $e) (local.get $o)))
          (v128.store offset=16 (local.get $p) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $e) (local.get $o)))
          (local.set $e (f32x4.add (v128.and (local.get $g4) (i32x4.eq (local.get $a4) (local.get $i1))) (v128.const i32x4 0 0 0 0)))
          (local.set $o (f32x4.add (v128.and (local.get $g4) (i32x4.eq (local.get $a4) (i32x4.add (local.get $i1) (v128.const i32x4 1 1 1 1)))) (v128.const i32x4 0 0 0 0)))
          (v128.store (i32.add (local.get $p) (local.get $Wb)) (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $e) (local.get $o)))
          (v128.store offset=16 (i32.add (local.get $p) (local.get $Wb)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $e) (local.get $o)))
          (local.set $g (i32.add (local.get $g) (i32.const 16)))
          (local.set $am (i32.add (local.get $am) (i32.const 16)))
          (local.set $p (i32.add (local.get $p) (i32.const 32)))
          (local.set $idx (i32.add (local.get $idx) (i32.const 8)))
          (local.set $ox (i32.add (local.get $ox) (i32.const 4)))
          (br $vl)))
        ;; rows narrower than four windows: clear them, then scatter
        (if (i32.lt_s (local.get $ox) (local.get $OW)) (then
          (memory.fill (local.get $p) (i32.const 0) (i32.shl (i32.sub (local.get $OW) (local.get $ox)) (i32.const 3)))
          (memory.fill (i32.add (local.get $p) (local.get $Wb)) (i32.const 0) (i32.shl (i32.sub (local.get $OW) (local.get $ox)) (i32.const 3)))
          (call $scatterAdd (local.get $g) (local.get $am) (i32.sub (local.get $OW) (local.get $ox)) (local.get $dx)
            (i32.mul (local.get $planes) (i32.mul (local.get $H) (local.get $W))))
          (local.set $g (i32.add (local.get $g) (i32.shl (i32.sub (local.get $OW) (local.get $ox)) (i32.const 2))))
          (local.set $am (i32.add (local.get $am) (i32.shl (i32.sub (local.get $OW) (local.get $ox)) (i32.const 2))))))
        (br_if $oyLoop (i32.lt_s (local.tee $oy (i32.add (local.get $oy) (i32.const 1))) (local.get $OH))))
      (br_if $planeLoop (i32.lt_s (local.tee $plane (i32.add (local.get $plane) (i32.const 1))) (local.get $planes)))))

  (func $maxPoolBackward (export "maxPoolBackward") (param $g i32) (param $am i32) (param $planes i32) (param $H i32) (param $W i32)
    (param $k i32) (param $s i32) (param $OH i32) (param $OW i32) (param $dx i32)
    (if (i32.le_s (local.get $planes) (i32.const 0)) (then (return)))
    (if (i32.and (i32.and (i32.eq (local.get $k) (i32.const 2)) (i32.eq (local.get $s) (i32.const 2)))
                 (i32.and (i32.gt_s (local.get $OH) (i32.const 0)) (i32.gt_s (local.get $OW) (i32.const 0))))
      (then
        ;; inputs no window covers (odd H or W) must still be 0
        (if (i32.or (i32.ne (i32.shl (local.get $OH) (i32.const 1)) (local.get $H)) (i32.ne (i32.shl (local.get $OW) (i32.const 1)) (local.get $W)))
          (then (memory.fill (local.get $dx) (i32.const 0) (i32.shl (i32.mul (local.get $planes) (i32.mul (local.get $H) (local.get $W))) (i32.const 2)))))
        (call $maxPool2x2Backward (local.get $g) (local.get $am) (local.get $planes) (local.get $H) (local.get $W) (local.get $OH) (local.get $OW) (local.get $dx)))
      (else
        (memory.fill (local.get $dx) (i32.const 0) (i32.shl (i32.mul (local.get $planes) (i32.mul (local.get $H) (local.get $W))) (i32.const 2)))
        (call $scatterAdd (local.get $g) (local.get $am)
          (i32.mul (local.get $planes) (i32.mul (local.get $OH) (local.get $OW))) (local.get $dx)
          (i32.mul (local.get $planes) (i32.mul (local.get $H) (local.get $W)))))))

  ;; A convolution's epilogue in place (im2col path): y = act(scale[f]·y + shift[f]) on
  ;; `planes` planes of P floats, plane q of channel q % F; act = ReLU (pmax 0) when relu.
  ;; scale·y + shift is a separate multiply and add, as in the reference.
  (func $channelAffine (export "channelAffine") (param $y i32) (param $planes i32) (param $F i32) (param $P i32)
    (param $scale i32) (param $shift i32) (param $relu i32)
    (local $q i32) (local $f i32) (local $end i32) (local $vend i32) (local $s v128) (local $t v128) (local $floor v128)
    (if (i32.or (i32.le_s (local.get $planes) (i32.const 0)) (i32.le_s (local.get $P) (i32.const 0))) (then (return)))
    (local.set $q (i32.const 0))
    (loop $planeLoop
      (local.set $f (i32.rem_u (local.get $q) (local.get $F)))
      (local.set $s (v128.load32_splat (i32.add (local.get $scale) (i32.shl (local.get $f) (i32.const 2)))))
      (local.set $t (v128.load32_splat (i32.add (local.get $shift) (i32.shl (local.get $f) (i32.const 2)))))
      (local.set $end (i32.add (local.get $y) (i32.shl (local.get $P) (i32.const 2))))
      (local.set $vend (i32.add (local.get $y) (i32.shl (i32.and (local.get $P) (i32.const -4)) (i32.const 2))))
      (block $vdone (loop $vl
        (br_if $vdone (i32.ge_u (local.get $y) (local.get $vend)))
        (v128.store (local.get $y) (call $affine4 (v128.load (local.get $y)) (local.get $s) (local.get $t) (local.get $relu)))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (br $vl)))
      (block $sdone (loop $sl
        (br_if $sdone (i32.ge_u (local.get $y) (local.get $end)))
        (f32.store (local.get $y) (f32x4.extract_lane 0
          (call $affine4 (v128.load32_splat (local.get $y)) (local.get $s) (local.get $t) (local.get $relu))))
        (local.set $y (i32.add (local.get $y) (i32.const 4)))
        (br $sl)))
      (br_if $planeLoop (i32.lt_s (local.tee $q (i32.add (local.get $q) (i32.const 1))) (local.get $planes)))))

  (func $affine4 (param $v v128) (param $s v128) (param $t v128) (param $relu i32) (result v128)
    (local.set $v (f32x4.add (f32x4.mul (local.get $v) (local.get $s)) (local.get $t)))
    (if (result v128) (local.get $relu)
      (then (f32x4.pmax (v128.const i32x4 0 0 0 0) (local.get $v)))
      (else (local.get $v))))
