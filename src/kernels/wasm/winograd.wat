  ;; Helpers of the Winograd transforms (gen-winograd.mjs); module fields spliced into
  ;; kernels-*.wat by build.mjs. Addresses in bytes, sizes and strides in floats.

  ;; The first n (1–3) lanes of v to p: the right edge of an output row.
  (func $storePartial (param $p i32) (param $v v128) (param $n i32)
    (f32.store (local.get $p) (f32x4.extract_lane 0 (local.get $v)))
    (if (i32.gt_s (local.get $n) (i32.const 1)) (then
      (f32.store offset=4 (local.get $p) (f32x4.extract_lane 1 (local.get $v)))
      (if (i32.gt_s (local.get $n) (i32.const 2)) (then
        (f32.store offset=8 (local.get $p) (f32x4.extract_lane 2 (local.get $v))))))))

  ;; planes × rows × cols floats from src to dst, each side with its own row and plane
  ;; strides: pads an image into the zero-bordered planes the transforms read, and crops
  ;; the input gradient back out of them.
  (func $copyPlanes (export "copyPlanes") (param $src i32) (param $srcPlane i32) (param $srcRow i32)
    (param $dst i32) (param $dstPlane i32) (param $dstRow i32) (param $planes i32) (param $rows i32) (param $cols i32)
    (local $p i32) (local $r i32) (local $s i32) (local $d i32) (local $o i32) (local $vecBytes i32) (local $bytes i32)
    (if (i32.or (i32.or (i32.le_s (local.get $planes) (i32.const 0)) (i32.le_s (local.get $rows) (i32.const 0)))
                (i32.le_s (local.get $cols) (i32.const 0))) (then (return)))
    (local.set $bytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $vecBytes (i32.and (local.get $bytes) (i32.const -16)))
    (local.set $p (i32.const 0))
    (loop $planeLoop
      (local.set $s (i32.add (local.get $src) (i32.shl (i32.mul (local.get $p) (local.get $srcPlane)) (i32.const 2))))
      (local.set $d (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $p) (local.get $dstPlane)) (i32.const 2))))
      (local.set $r (i32.const 0))
      (loop $rowLoop
        (local.set $o (i32.const 0))
        (block $vdone (loop $vl
          (br_if $vdone (i32.ge_u (local.get $o) (local.get $vecBytes)))
          (v128.store (i32.add (local.get $d) (local.get $o)) (v128.load (i32.add (local.get $s) (local.get $o))))
          (local.set $o (i32.add (local.get $o) (i32.const 16)))
          (br $vl)))
        (block $sdone (loop $sl
          (br_if $sdone (i32.ge_u (local.get $o) (local.get $bytes)))
          (f32.store (i32.add (local.get $d) (local.get $o)) (f32.load (i32.add (local.get $s) (local.get $o))))
          (local.set $o (i32.add (local.get $o) (i32.const 4)))
          (br $sl)))
        (local.set $s (i32.add (local.get $s) (i32.shl (local.get $srcRow) (i32.const 2))))
        (local.set $d (i32.add (local.get $d) (i32.shl (local.get $dstRow) (i32.const 2))))
        (br_if $rowLoop (i32.lt_s (local.tee $r (i32.add (local.get $r) (i32.const 1))) (local.get $rows))))
      (br_if $planeLoop (i32.lt_s (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $planes)))))

  ;; n floats of zeros at dst (TypedArray.fill on shared memory is several times slower).
  (func $zeroFloats (export "zeroFloats") (param $dst i32) (param $n i32)
    (if (i32.gt_s (local.get $n) (i32.const 0)) (then
      (memory.fill (local.get $dst) (i32.const 0) (i32.shl (local.get $n) (i32.const 2))))))

  ;; copyPlanes with a ReLU's backward folded in: dst = src where mask > 0, else +0
  ;; (mask laid out like src: a ReLU's output, src its gradient).
  (func $copyPlanesMasked (export "copyPlanesMasked") (param $src i32) (param $mask i32) (param $srcPlane i32) (param $srcRow i32)
    (param $dst i32) (param $dstPlane i32) (param $dstRow i32) (param $planes i32) (param $rows i32) (param $cols i32)
    (local $p i32) (local $r i32) (local $s i32) (local $m i32) (local $d i32) (local $o i32) (local $vecBytes i32) (local $bytes i32)
    (if (i32.or (i32.or (i32.le_s (local.get $planes) (i32.const 0)) (i32.le_s (local.get $rows) (i32.const 0)))
                (i32.le_s (local.get $cols) (i32.const 0))) (then (return)))
    (local.set $bytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $vecBytes (i32.and (local.get $bytes) (i32.const -16)))
    (local.set $p (i32.const 0))
    (loop $planeLoop
      (local.set $s (i32.add (local.get $src) (i32.shl (i32.mul (local.get $p) (local.get $srcPlane)) (i32.const 2))))
      (local.set $m (i32.add (local.get $mask) (i32.shl (i32.mul (local.get $p) (local.get $srcPlane)) (i32.const 2))))
      (local.set $d (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $p) (local.get $dstPlane)) (i32.const 2))))
      (local.set $r (i32.const 0))
      (loop $rowLoop
        (local.set $o (i32.const 0))
        (block $vdone (loop $vl
          (br_if $vdone (i32.ge_u (local.get $o) (local.get $vecBytes)))
          (v128.store (i32.add (local.get $d) (local.get $o))
            (v128.and (v128.load (i32.add (local.get $s) (local.get $o)))
              (f32x4.gt (v128.load (i32.add (local.get $m) (local.get $o))) (v128.const i32x4 0 0 0 0))))
          (local.set $o (i32.add (local.get $o) (i32.const 16)))
          (br $vl)))
        (block $sdone (loop $sl
          (br_if $sdone (i32.ge_u (local.get $o) (local.get $bytes)))
          (f32.store (i32.add (local.get $d) (local.get $o))
            (select (f32.load (i32.add (local.get $s) (local.get $o))) (f32.const 0)
              (f32.gt (f32.load (i32.add (local.get $m) (local.get $o))) (f32.const 0))))
          (local.set $o (i32.add (local.get $o) (i32.const 4)))
          (br $sl)))
        (local.set $s (i32.add (local.get $s) (i32.shl (local.get $srcRow) (i32.const 2))))
        (local.set $m (i32.add (local.get $m) (i32.shl (local.get $srcRow) (i32.const 2))))
        (local.set $d (i32.add (local.get $d) (i32.shl (local.get $dstRow) (i32.const 2))))
        (br_if $rowLoop (i32.lt_s (local.tee $r (i32.add (local.get $r) (i32.const 1))) (local.get $rows))))
      (br_if $planeLoop (i32.lt_s (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $planes)))))

  ;; The copy that pads an image, with a ReLU in front of the convolution folded in:
  ;; dst = max(0, src) (f32x4.pmax(0, x): NaN and −0 give +0, as reluForward).
  (func $copyPlanesRelu (export "copyPlanesRelu") (param $src i32) (param $srcPlane i32) (param $srcRow i32)
    (param $dst i32) (param $dstPlane i32) (param $dstRow i32) (param $planes i32) (param $rows i32) (param $cols i32)
    (local $p i32) (local $r i32) (local $s i32) (local $d i32) (local $o i32) (local $vecBytes i32) (local $bytes i32) (local $v f32)
    (if (i32.or (i32.or (i32.le_s (local.get $planes) (i32.const 0)) (i32.le_s (local.get $rows) (i32.const 0)))
                (i32.le_s (local.get $cols) (i32.const 0))) (then (return)))
    (local.set $bytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $vecBytes (i32.and (local.get $bytes) (i32.const -16)))
    (local.set $p (i32.const 0))
    (loop $planeLoop
      (local.set $s (i32.add (local.get $src) (i32.shl (i32.mul (local.get $p) (local.get $srcPlane)) (i32.const 2))))
      (local.set $d (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $p) (local.get $dstPlane)) (i32.const 2))))
      (local.set $r (i32.const 0))
      (loop $rowLoop
        (local.set $o (i32.const 0))
        (block $vdone (loop $vl
          (br_if $vdone (i32.ge_u (local.get $o) (local.get $vecBytes)))
          (v128.store (i32.add (local.get $d) (local.get $o))
            (f32x4.pmax (v128.const i32x4 0 0 0 0) (v128.load (i32.add (local.get $s) (local.get $o)))))
          (local.set $o (i32.add (local.get $o) (i32.const 16)))
          (br $vl)))
        (block $sdone (loop $sl
          (br_if $sdone (i32.ge_u (local.get $o) (local.get $bytes)))
          (local.set $v (f32.load (i32.add (local.get $s) (local.get $o))))
          (f32.store (i32.add (local.get $d) (local.get $o)) (select (local.get $v) (f32.const 0) (f32.gt (local.get $v) (f32.const 0))))
          (local.set $o (i32.add (local.get $o) (i32.const 4)))
          (br $sl)))
        (local.set $s (i32.add (local.get $s) (i32.shl (local.get $srcRow) (i32.const 2))))
        (local.set $d (i32.add (local.get $d) (i32.shl (local.get $dstRow) (i32.const 2))))
        (br_if $rowLoop (i32.lt_s (local.tee $r (i32.add (local.get $r) (i32.const 1))) (local.get $rows))))
      (br_if $planeLoop (i32.lt_s (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $planes)))))

  ;; The copy that crops the input gradient, with that ReLU's backward folded in:
  ;; dst = src where mask > 0, else +0, the mask laid out like dst (the ReLU's input).
  (func $copyPlanesMaskedDst (export "copyPlanesMaskedDst") (param $src i32) (param $srcPlane i32) (param $srcRow i32)
    (param $dst i32) (param $mask i32) (param $dstPlane i32) (param $dstRow i32) (param $planes i32) (param $rows i32) (param $cols i32)
    (local $p i32) (local $r i32) (local $s i32) (local $m i32) (local $d i32) (local $o i32) (local $vecBytes i32) (local $bytes i32)
    (if (i32.or (i32.or (i32.le_s (local.get $planes) (i32.const 0)) (i32.le_s (local.get $rows) (i32.const 0)))
                (i32.le_s (local.get $cols) (i32.const 0))) (then (return)))
    (local.set $bytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $vecBytes (i32.and (local.get $bytes) (i32.const -16)))
    (local.set $p (i32.const 0))
    (loop $planeLoop
      (local.set $s (i32.add (local.get $src) (i32.shl (i32.mul (local.get $p) (local.get $srcPlane)) (i32.const 2))))
      (local.set $m (i32.add (local.get $mask) (i32.shl (i32.mul (local.get $p) (local.get $dstPlane)) (i32.const 2))))
      (local.set $d (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $p) (local.get $dstPlane)) (i32.const 2))))
      (local.set $r (i32.const 0))
      (loop $rowLoop
        (local.set $o (i32.const 0))
        (block $vdone (loop $vl
          (br_if $vdone (i32.ge_u (local.get $o) (local.get $vecBytes)))
          (v128.store (i32.add (local.get $d) (local.get $o))
            (v128.and (v128.load (i32.add (local.get $s) (local.get $o)))
              (f32x4.gt (v128.load (i32.add (local.get $m) (local.get $o))) (v128.const i32x4 0 0 0 0))))
          (local.set $o (i32.add (local.get $o) (i32.const 16)))
          (br $vl)))
        (block $sdone (loop $sl
          (br_if $sdone (i32.ge_u (local.get $o) (local.get $bytes)))
          (f32.store (i32.add (local.get $d) (local.get $o))
            (select (f32.load (i32.add (local.get $s) (local.get $o))) (f32.const 0)
              (f32.gt (f32.load (i32.add (local.get $m) (local.get $o))) (f32.const 0))))
          (local.set $o (i32.add (local.get $o) (i32.const 4)))
          (br $sl)))
        (local.set $s (i32.add (local.get $s) (i32.shl (local.get $srcRow) (i32.const 2))))
        (local.set $m (i32.add (local.get $m) (i32.shl (local.get $dstRow) (i32.const 2))))
        (local.set $d (i32.add (local.get $d) (i32.shl (local.get $dstRow) (i32.const 2))))
        (br_if $rowLoop (i32.lt_s (local.tee $r (i32.add (local.get $r) (i32.const 1))) (local.get $rows))))
      (br_if $planeLoop (i32.lt_s (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $planes)))))
