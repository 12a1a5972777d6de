  ;; Batch normalization's passes (src/layers/batchnorm.ts; references in ../elementwise.ts):
  ;;   planeDots(a, b, planes, P, out)          per plane q of P floats: out[2q] = Σa, out[2q+1] = Σa·b (f64)
  ;;   channelLinear(g, x, d, planes, F, P, p, q, r)   d = p[f]·g + q[f]·x + r[f], f = plane % F

  ;; Sums in f64 (each pair of lanes promoted), products too: a plane of a conv's output
  ;; sums thousands of values whose mean may sit far from zero. The loop is bound by the
  ;; conversions (f64x2.promote_low_f32x4 and the shuffles that fed it ran on one port, at
  ;; 6.5 GB/s, half of what a ReLU pass streams), so each half of a vector is loaded on its
  ;; own (v128.load64_zero: loads are cheap) instead of shuffled, and when a = b (forward:
  ;; Σx and Σx²) each value is promoted once.
  (func $planeDots (export "planeDots") (param $a i32) (param $b i32) (param $planes i32) (param $P i32) (param $out i32)
    (local $q i32) (local $d i32) (local $end i32) (local $vend i32)
    (local $s0 v128) (local $s1 v128) (local $t0 v128) (local $t1 v128)
    (local $lo v128) (local $hi v128)
    (local $sum f64) (local $dot f64) (local $x f64)
    (if (i32.or (i32.le_s (local.get $planes) (i32.const 0)) (i32.le_s (local.get $P) (i32.const 0))) (then (return)))
    (local.set $d (i32.sub (local.get $b) (local.get $a)))
    (local.set $q (i32.const 0))
    (loop $planeLoop
      (local.set $s0 (v128.const i64x2 0 0))
      (local.set $s1 (v128.const i64x2 0 0))
      (local.set $t0 (v128.const i64x2 0 0))
      (local.set $t1 (v128.const i64x2 0 0))
      (local.set $end (i32.add (local.get $a) (i32.shl (local.get $P) (i32.const 2))))
      (local.set $vend (i32.add (local.get $a) (i32.shl (i32.and (local.get $P) (i32.const -4)) (i32.const 2))))
      (if (i32.eqz (local.get $d))
        (then
          (block $vdone (loop $vl
            (br_if $vdone (i32.ge_u (local.get $a) (local.get $vend)))
            (local.set $lo (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $a))))
            (local.set $hi (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $a))))
            (local.set $s0 (f64x2.add (local.get $s0) (local.get $lo)))
            (local.set $s1 (f64x2.add (local.get $s1) (local.get $hi)))
            (local.set $t0 (f64x2.add (local.get $t0) (f64x2.mul (local.get $lo) (local.get $lo))))
            (local.set $t1 (f64x2.add (local.get $t1) (f64x2.mul (local.get $hi) (local.get $hi))))
            (local.set $a (i32.add (local.get $a) (i32.const 16)))
            (br $vl))))
        (else
          (block $vdone (loop $vl
            (br_if $vdone (i32.ge_u (local.get $a) (local.get $vend)))
            (local.set $lo (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $a))))
            (local.set $hi (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $a))))
            (local.set $s0 (f64x2.add (local.get $s0) (local.get $lo)))
            (local.set $s1 (f64x2.add (local.get $s1) (local.get $hi)))
            (local.set $t0 (f64x2.add (local.get $t0) (f64x2.mul (local.get $lo)
              (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $a) (local.get $d)))))))
            (local.set $t1 (f64x2.add (local.get $t1) (f64x2.mul (local.get $hi)
              (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (i32.add (local.get $a) (local.get $d)))))))
            (local.set $a (i32.add (local.get $a) (i32.const 16)))
            (br $vl)))))
      (local.set $s0 (f64x2.add (local.get $s0) (local.get $s1)))
      (local.set $t0 (f64x2.add (local.get $t0) (local.get $t1)))
      (local.set $sum (f64.add (f64x2.extract_lane 0 (local.get $s0)) (f64x2.extract_lane 1 (local.get $s0))))
      (local.set $dot (f64.add (f64x2.extract_lane 0 (local.get $t0)) (f64x2.extract_lane 1 (local.get $t0))))
      (block $sdone (loop $sl
        (br_if $sdone (i32.ge_u (local.get $a) (local.get $end)))
        (local.set $x (f64.promote_f32 (f32.load (local.get $a))))
        (local.set $sum (f64.add (local.get $sum) (local.get $x)))
        (local.set $dot (f64.add (local.get $dot) (f64.mul (local.get $x) (f64.promote_f32 (f32.load (i32.add (local.get $a) (local.get $d)))))))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (br $sl)))
      (f64.store (local.get $out) (local.get $sum))
      (f64.store offset=8 (local.get $out) (local.get $dot))
      (local.set $out (i32.add (local.get $out) (i32.const 16)))
      (br_if $planeLoop (i32.lt_s (local.tee $q (i32.add (local.get $q) (i32.const 1))) (local.get $planes)))))

  ;; Rounded as the reference: (p·g + q·x) + r, each operation in f32.
  (func $channelLinear (export "channelLinear") (param $g i32) (param $x i32) (param $dst i32) (param $planes i32)
    (param $F i32) (param $P i32) (param $p i32) (param $q i32) (param $r i32)
    (local $k i32) (local $f i32) (local $end i32) (local $vend i32) (local $dx i32) (local $dd i32)
    (local $vp v128) (local $vq v128) (local $vr v128)
    (if (i32.or (i32.le_s (local.get $planes) (i32.const 0)) (i32.le_s (local.get $P) (i32.const 0))) (then (return)))
    (local.set $dx (i32.sub (local.get $x) (local.get $g)))
    (local.set $dd (i32.sub (local.get $dst) (local.get $g)))
    (local.set $k (i32.const 0))
    (loop $planeLoop
      (local.set $f (i32.shl (i32.rem_u (local.get $k) (local.get $F)) (i32.const 2)))
      (local.set $vp (v128.load32_splat (i32.add (local.get $p) (local.get $f))))
      (local.set $vq (v128.load32_splat (i32.add (local.get $q) (local.get $f))))
      (local.set $vr (v128.load32_splat (i32.add (local.get $r) (local.get $f))))
      (local.set $end (i32.add (local.get $g) (i32.shl (local.get $P) (i32.const 2))))
      (local.set $vend (i32.add (local.get $g) (i32.shl (i32.and (local.get $P) (i32.const -4)) (i32.const 2))))
      (block $vdone (loop $vl
        (br_if $vdone (i32.ge_u (local.get $g) (local.get $vend)))
        (v128.store (i32.add (local.get $g) (local.get $dd))
          (f32x4.add (f32x4.add (f32x4.mul (local.get $vp) (v128.load (local.get $g)))
                                (f32x4.mul (local.get $vq) (v128.load (i32.add (local.get $g) (local.get $dx)))))
                     (local.get $vr)))
        (local.set $g (i32.add (local.get $g) (i32.const 16)))
        (br $vl)))
      (block $sdone (loop $sl
        (br_if $sdone (i32.ge_u (local.get $g) (local.get $end)))
        (f32.store (i32.add (local.get $g) (local.get $dd))
          (f32.add (f32.add (f32.mul (f32x4.extract_lane 0 (local.get $vp)) (f32.load (local.get $g)))
                            (f32.mul (f32x4.extract_lane 0 (local.get $vq)) (f32.load (i32.add (local.get $g) (local.get $dx)))))
                   (f32x4.extract_lane 0 (local.get $vr))))
        (local.set $g (i32.add (local.get $g) (i32.const 4)))
        (br $sl)))
      (br_if $planeLoop (i32.lt_s (local.tee $k (i32.add (local.get $k) (i32.const 1))) (local.get $planes)))))
