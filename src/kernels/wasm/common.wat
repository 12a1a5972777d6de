;; Helpers shared by the kernels; module fields spliced into kernels-*.wat by build.mjs.

  (func $min (param $x i32) (param $y i32) (result i32)
    (select (local.get $x) (local.get $y) (i32.lt_s (local.get $x) (local.get $y))))
