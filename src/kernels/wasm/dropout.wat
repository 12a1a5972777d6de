  ;; Dropout's mask, drawn and applied in one pass (src/kernels/dropout-mask.ts has the
  ;; reference loop and the contract):
  ;;   dropoutMask(x, y, m, n, state, limit, keep)
  ;;     for i < n: r = mulberry32 output for state + (i+1)·0x6d2b79f5
  ;;                s = r ≤ limit (unsigned) ? 0 : keep (f64);  m[i] = f32(s);  y[i] = f32(x[i]·s)
  ;;     (y from the product in f64, rounded once: bit for bit the plain loop in TypeScript,
  ;;     whose keep = 1/(1 − rate) is a double)
  ;;   mulFloats(a, b, d, n)    d = a·b (dropout's backward: the gradient times the mask)
  ;; mulberry32 from a fresh state is a counter-based hash: draw i depends on state and i
  ;; alone, so four consecutive draws are four lanes computed at once (i32x4.mul is
  ;; Math.imul, lane by lane).
  (func $dropoutMask (export "dropoutMask") (param $x i32) (param $y i32) (param $m i32) (param $n i32)
    (param $state i32) (param $limit i32) (param $keep f64)
    (local $dy i32) (local $dm i32) (local $vend i32) (local $end i32)
    (local $t v128) (local $u v128) (local $vlimit v128) (local $vkeep v128) (local $s v128) (local $drop v128)
    (local $keep32 v128) (local $xv v128) (local $ts i32) (local $us i32) (local $sd f64)
    (local.set $dy (i32.sub (local.get $y) (local.get $x)))
    (local.set $dm (i32.sub (local.get $m) (local.get $x)))
    (local.set $vend (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $vlimit (i32x4.splat (local.get $limit)))
    (local.set $vkeep (f64x2.splat (local.get $keep)))
    (local.set $keep32 (f32x4.splat (f32.demote_f64 (local.get $keep))))
    ;; lanes: state + (1, 2, 3, 4)·G; each vector advances by 4·G
    (local.set $t (i32x4.add (i32x4.splat (local.get $state))
      (v128.const i32x4 0x6d2b79f5 0xda56f3ea 0x47826ddf 0xb4ade7d4)))
    (block $vdone (loop $vl
      (br_if $vdone (i32.ge_u (local.get $x) (local.get $vend)))
      ;; u = imul(t ^ t>>>15, t | 1)
      (local.set $u (i32x4.mul (v128.xor (local.get $t) (i32x4.shr_u (local.get $t) (i32.const 15)))
                               (v128.or (local.get $t) (v128.const i32x4 1 1 1 1))))
      ;; u ^= u + imul(u ^ u>>>7, u | 61)
      (local.set $u (v128.xor (local.get $u) (i32x4.add (local.get $u)
        (i32x4.mul (v128.xor (local.get $u) (i32x4.shr_u (local.get $u) (i32.const 7)))
                   (v128.or (local.get $u) (v128.const i32x4 61 61 61 61))))))
      ;; r = u ^ u>>>14; dropped (all ones) where r ≤ limit
      (local.set $drop (i32x4.le_u (v128.xor (local.get $u) (i32x4.shr_u (local.get $u) (i32.const 14))) (local.get $vlimit)))
      (v128.store (i32.add (local.get $x) (local.get $dm)) (v128.andnot (local.get $keep32) (local.get $drop)))
      ;; y = f32(f64(x)·s), two lanes at a time, with s = keep & ~drop widened to 64 bits (x·0 keeps x's sign, as in TS)
      (local.set $xv (v128.load (local.get $x)))
      (v128.store (i32.add (local.get $x) (local.get $dy))
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (local.get $xv))
            (v128.andnot (local.get $vkeep) (i64x2.extend_low_i32x4_s (local.get $drop)))))
          (f32x4.demote_f64x2_zero (f64x2.mul
            (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $xv) (local.get $xv)))
            (v128.andnot (local.get $vkeep) (i64x2.extend_high_i32x4_s (local.get $drop)))))))
      (local.set $t (i32x4.add (local.get $t) (v128.const i32x4 0xb4ade7d4 0xb4ade7d4 0xb4ade7d4 0xb4ade7d4)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (br $vl)))
    ;; the tail, one lane at a time, continuing from lane 0's counter
    (local.set $ts (i32x4.extract_lane 0 (local.get $t)))
    (block $done (loop $sl
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $us (i32.mul (i32.xor (local.get $ts) (i32.shr_u (local.get $ts) (i32.const 15))) (i32.or (local.get $ts) (i32.const 1))))
      (local.set $us (i32.xor (local.get $us) (i32.add (local.get $us)
        (i32.mul (i32.xor (local.get $us) (i32.shr_u (local.get $us) (i32.const 7))) (i32.or (local.get $us) (i32.const 61))))))
      (local.set $sd (select (f64.const 0) (local.get $keep)
        (i32.le_u (i32.xor (local.get $us) (i32.shr_u (local.get $us) (i32.const 14))) (local.get $limit))))
      (f32.store (i32.add (local.get $x) (local.get $dm)) (f32.demote_f64 (local.get $sd)))
      (f32.store (i32.add (local.get $x) (local.get $dy)) (f32.demote_f64 (f64.mul (f64.promote_f32 (f32.load (local.get $x))) (local.get $sd))))
      (local.set $ts (i32.add (local.get $ts) (i32.const 0x6d2b79f5)))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (br $sl))))

  (func $mulFloats (export "mulFloats") (param $a i32) (param $b i32) (param $d i32) (param $n i32)
    (local $db i32) (local $dd i32) (local $vend i32) (local $end i32)
    (local.set $db (i32.sub (local.get $b) (local.get $a)))
    (local.set $dd (i32.sub (local.get $d) (local.get $a)))
    (local.set $vend (i32.add (local.get $a) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (local.set $end (i32.add (local.get $a) (i32.shl (local.get $n) (i32.const 2))))
    (block $vdone (loop $vl
      (br_if $vdone (i32.ge_u (local.get $a) (local.get $vend)))
      (v128.store (i32.add (local.get $a) (local.get $dd))
        (f32x4.mul (v128.load (local.get $a)) (v128.load (i32.add (local.get $a) (local.get $db)))))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (br $vl)))
    (block $done (loop $sl
      (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
      (f32.store (i32.add (local.get $a) (local.get $dd))
        (f32.mul (f32.load (local.get $a)) (f32.load (i32.add (local.get $a) (local.get $db)))))
      (local.set $a (i32.add (local.get $a) (i32.const 4)))
      (br $sl))))
