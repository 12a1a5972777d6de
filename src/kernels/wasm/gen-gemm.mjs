// @ts-check
/**
 * Generates the WAT of the GEMM kernels: the micro-kernels are fully unrolled register
 * tiles, tedious to write by hand and easy to generate; the drivers around them are
 * ordinary loops written out below. Two variants come from one source: `madd` is
 * f32x4.relaxed_madd (a fused multiply-add where the CPU has one) or f32x4.mul + add.
 *
 * GEMM has two paths. A·Bᵀ (transB, A plain: the weight gradients and dense forward)
 * has K contiguous in both operands, so it is computed as tiles of dot products
 * vectorised along K, with no packing. Every other case broadcasts one element of op(A)
 * against f32x4 rows of op(B): A is packed into MR-row panels, B is read in place
 * (packed only when transposed or at a ragged right edge).
 *
 * Exports (pointers are byte addresses into the imported memory, leading dims in floats):
 *   gemm(transA, transB, M, N, K, a, lda, b, ldb, c, ldc, accumulate, scratch)
 *   gemmBatched(transA, transB, M, N, K, a, lda, sa, b, ldb, sb, c, ldc, sc, accumulate, batch, scratch)
 * `scratch` must point at `scratchBytes` (an exported global, see build.mjs) of memory
 * owned by the calling thread: packed panels live there.
 */

/** @typedef {(a: string, b: string, c: string) => string} Madd a·b + c on f32x4 */
/**
 * @typedef {object} Tiles
 * @property {number} MR broadcast kernel: rows of C per tile
 * @property {number} V broadcast kernel: f32x4 vectors per row (NR = 4·V columns)
 * @property {number} KC depth of one packed slice of K
 * @property {number} MC rows of A packed at once (rounded up to a multiple of MR)
 * @property {number} MRD dot kernel (A·Bᵀ): rows of A per tile
 * @property {number} NRD dot kernel: rows of Bᵀ per tile
 * @property {number} KCD dot kernel: depth of one K slice (keeps the rows in L1/L2)
 */

/**
 * @type {Readonly<Tiles>}
 * Tile sizes: what measured fastest on the development machine (x86-64, Node 20). V8
 * gives wasm 16 xmm registers, so tiles of 8–9 f32x4 accumulators beat 12–16, which
 * spill. KC·MC floats of packed A (256 KiB) sit in L2; a KC×NR strip of B in L1.
 */
export const DEFAULT_TILES = Object.freeze({
  // 4×8 tiles fit the convolutions as the layers run them (one image at a time: C is
  // F×OH·OW, or C·k·k×OH·OW for dcols, with F = 8, 16 and OH·OW = 576, 64) with no
  // ragged edges; on those shapes they beat 3×12 by about 10%, though 3×12 is a few
  // percent faster on one big [F, N·OH·OW] product.
  MR: 4, // broadcast kernel: rows of C per tile
  V: 2, // broadcast kernel: f32x4 vectors per row (NR = 4·V columns)
  KC: 256, // depth of one packed slice of K
  MC: 256, // rows of A packed at once (rounded up to a multiple of MR)
  MRD: 4, // dot kernel (A·Bᵀ): rows of A per tile
  NRD: 2, // dot kernel: rows of Bᵀ per tile
  KCD: 1024, // dot kernel: depth of one K slice (keeps the rows in L1/L2)
});

/** Rows of A per packed block: MC rounded up to whole MR-row panels, so panels never overflow the block. */
/** @param {Tiles} t */
function blockRows(t) {
  return t.MR * Math.ceil(t.MC / t.MR);
}

/** Bytes of per-thread scratch the GEMM needs. */
export function scratchBytes(t = DEFAULT_TILES) {
  const NR = 4 * t.V;
  return (blockRows(t) * t.KC + t.KC * NR + t.MR * NR) * 4;
}

/**
 * C[m×NR] (+)= Apanel · Bpanel over kc steps. A panel: MR floats per step (broadcast one
 * per row); B: NR contiguous floats per step, `ldb` bytes apart. m·V accumulators.
 */
/** @param {number} m @param {Tiles} t @param {Madd} madd */
function broadcastKernel(m, t, madd) {
  const V = t.V;
  const accs = [];
  for (let i = 0; i < m; i++) for (let v = 0; v < V; v++) accs.push(`$c${i}_${v}`);
  const locals = [...accs, ...range(V).map((v) => `$b${v}`), '$a'].map((n) => `(local ${n} v128)`).join(' ');
  const body = [];
  for (let v = 0; v < V; v++) body.push(`(local.set $b${v} (v128.load offset=${16 * v} (local.get $bp)))`);
  for (let i = 0; i < m; i++) {
    body.push(`(local.set $a (v128.load32_splat offset=${4 * i} (local.get $ap)))`);
    for (let v = 0; v < V; v++) body.push(`(local.set $c${i}_${v} ${madd('(local.get $a)', `(local.get $b${v})`, `(local.get $c${i}_${v})`)})`);
  }
  const storeAcc = [], storeSet = [];
  for (let i = 0; i < m; i++) {
    const row = i === 0 ? '(local.get $cp)' : `(i32.add (local.get $cp) (i32.mul (local.get $ldc) (i32.const ${i})))`;
    storeAcc.push(`(local.set $row ${row})`);
    storeSet.push(`(local.set $row ${row})`);
    for (let v = 0; v < V; v++) {
      storeAcc.push(`(v128.store offset=${16 * v} (local.get $row) (f32x4.add (v128.load offset=${16 * v} (local.get $row)) (local.get $c${i}_${v})))`);
      storeSet.push(`(v128.store offset=${16 * v} (local.get $row) (local.get $c${i}_${v}))`);
    }
  }
  return `
  (func $kb${m} (param $ap i32) (param $bp i32) (param $ldb i32) (param $kc i32) (param $cp i32) (param $ldc i32) (param $accum i32)
    ${locals} (local $end i32) (local $row i32)
    (local.set $end (i32.add (local.get $ap) (i32.mul (local.get $kc) (i32.const ${4 * t.MR}))))
    (loop $p
      ${body.join('\n      ')}
      (local.set $ap (i32.add (local.get $ap) (i32.const ${4 * t.MR})))
      (local.set $bp (i32.add (local.get $bp) (local.get $ldb)))
      (br_if $p (i32.lt_u (local.get $ap) (local.get $end))))
    (if (local.get $accum)
      (then ${storeAcc.join('\n        ')})
      (else ${storeSet.join('\n        ')})))`;
}

/** Packs rows ic..ic+mc, depth pc..pc+kc of op(A) into MR-row panels laid out [p][r]. */
/** @param {Tiles} t */
function packA(t) {
  return `
  (func $packA (param $ta i32) (param $a i32) (param $lda i32) (param $ic i32) (param $pc i32) (param $mc i32) (param $kc i32) (param $dst i32)
    (local $i i32) (local $p i32) (local $src i32) (local $d i32) (local $step i32)
    ;; op(A)[i,p] sits at a + 4·(i·lda + p), or a + 4·(p·lda + i) when A is stored transposed.
    (local.set $step (select (i32.shl (local.get $lda) (i32.const 2)) (i32.const 4) (local.get $ta)))
    (local.set $i (i32.const 0))
    (loop $rows
      (local.set $src (i32.add (local.get $a) (i32.shl
        (select
          (i32.add (i32.mul (local.get $pc) (local.get $lda)) (i32.add (local.get $ic) (local.get $i)))
          (i32.add (i32.mul (i32.add (local.get $ic) (local.get $i)) (local.get $lda)) (local.get $pc))
          (local.get $ta))
        (i32.const 2))))
      ;; panel (i / MR) starts at i/MR·MR·kc floats; row i%MR within it
      (local.set $d (i32.add (local.get $dst) (i32.shl
        (i32.add (i32.mul (i32.mul (i32.div_u (local.get $i) (i32.const ${t.MR})) (i32.const ${t.MR})) (local.get $kc))
                 (i32.rem_u (local.get $i) (i32.const ${t.MR})))
        (i32.const 2))))
      (local.set $p (i32.const 0))
      (loop $cols
        (f32.store (local.get $d) (f32.load (local.get $src)))
        (local.set $src (i32.add (local.get $src) (local.get $step)))
        (local.set $d (i32.add (local.get $d) (i32.const ${4 * t.MR})))
        (br_if $cols (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $kc))))
      (br_if $rows (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $mc)))))`;
}

/**
 * Export packA(ta, M, K, a, lda, sa, batch, dst): op(A_n) for n < batch (A_n at a + n·sa
 * floats) packed whole, as gemmBatched with ta = 2 reads it: per K slice of KC, all the
 * MR-row panels of the M rows; matrix n at dst + n·Mp·K floats (Mp: M rounded up to MR).
 * @param {Tiles} t
 */
function packAExport(t) {
  return `
  (func (export "packA") (param $ta i32) (param $M i32) (param $K i32) (param $a i32) (param $lda i32) (param $sa i32)
    (param $batch i32) (param $dst i32)
    (local $n i32) (local $pc i32) (local $kc i32) (local $Mp i32) (local $an i32) (local $dn i32)
    (if (i32.or (i32.or (i32.le_s (local.get $M) (i32.const 0)) (i32.le_s (local.get $K) (i32.const 0))) (i32.le_s (local.get $batch) (i32.const 0)))
      (then (return)))
    (local.set $Mp (i32.mul (i32.div_u (i32.add (local.get $M) (i32.const ${t.MR - 1})) (i32.const ${t.MR})) (i32.const ${t.MR})))
    (local.set $n (i32.const 0))
    (loop $nLoop
      (local.set $an (i32.add (local.get $a) (i32.shl (i32.mul (local.get $n) (local.get $sa)) (i32.const 2))))
      (local.set $dn (i32.add (local.get $dst) (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $Mp)) (local.get $K)) (i32.const 2))))
      (local.set $pc (i32.const 0))
      (loop $pcLoop
        (local.set $kc (call $min (i32.const ${t.KC}) (i32.sub (local.get $K) (local.get $pc))))
        (call $packA (local.get $ta) (local.get $an) (local.get $lda) (i32.const 0) (local.get $pc) (local.get $M) (local.get $kc)
          (i32.add (local.get $dn) (i32.shl (i32.mul (local.get $pc) (local.get $Mp)) (i32.const 2))))
        (br_if $pcLoop (i32.lt_s (local.tee $pc (i32.add (local.get $pc) (i32.const ${t.KC}))) (local.get $K))))
      (br_if $nLoop (i32.lt_s (local.tee $n (i32.add (local.get $n) (i32.const 1))) (local.get $batch)))))`;
}

/** Packs depth pc..pc+kc, columns jc..jc+nr of op(B) into a kc×NR panel, zero-padded. */
/** @param {Tiles} t */
function packB(t) {
  const NR = 4 * t.V;
  return `
  (func $packB (param $tb i32) (param $b i32) (param $ldb i32) (param $pc i32) (param $jc i32) (param $kc i32) (param $nr i32) (param $dst i32)
    (local $j i32) (local $p i32) (local $src i32) (local $d i32) (local $step i32)
    (memory.fill (local.get $dst) (i32.const 0) (i32.mul (local.get $kc) (i32.const ${4 * NR})))
    (local.set $step (select (i32.const 4) (i32.shl (local.get $ldb) (i32.const 2)) (local.get $tb)))
    (local.set $j (i32.const 0))
    (loop $cols
      (local.set $src (i32.add (local.get $b) (i32.shl
        (select
          (i32.add (i32.mul (i32.add (local.get $jc) (local.get $j)) (local.get $ldb)) (local.get $pc))
          (i32.add (i32.mul (local.get $pc) (local.get $ldb)) (i32.add (local.get $jc) (local.get $j)))
          (local.get $tb))
        (i32.const 2))))
      (local.set $d (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2))))
      (local.set $p (i32.const 0))
      (loop $rows
        (f32.store (local.get $d) (f32.load (local.get $src)))
        (local.set $src (i32.add (local.get $src) (local.get $step)))
        (local.set $d (i32.add (local.get $d) (i32.const ${4 * NR})))
        (br_if $rows (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $kc))))
      (br_if $cols (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1))) (local.get $nr)))))`;
}

/** C[mr×nr] (+)= tile[mr×nr] (tile rows NR floats apart): the ragged right edge. */
/** @param {Tiles} t */
function addTile(t) {
  const NR = 4 * t.V;
  return `
  (func $addTile (param $tile i32) (param $cp i32) (param $ldc i32) (param $mr i32) (param $nr i32) (param $accum i32)
    (local $i i32) (local $j i32) (local $s i32) (local $d i32) (local $v f32)
    (local.set $i (i32.const 0))
    (loop $rows
      (local.set $s (i32.add (local.get $tile) (i32.mul (local.get $i) (i32.const ${4 * NR}))))
      (local.set $d (i32.add (local.get $cp) (i32.shl (i32.mul (local.get $i) (local.get $ldc)) (i32.const 2))))
      (local.set $j (i32.const 0))
      (loop $cols
        (local.set $v (f32.load (local.get $s)))
        (if (local.get $accum) (then (local.set $v (f32.add (local.get $v) (f32.load (local.get $d))))))
        (f32.store (local.get $d) (local.get $v))
        (local.set $s (i32.add (local.get $s) (i32.const 4)))
        (local.set $d (i32.add (local.get $d) (i32.const 4)))
        (br_if $cols (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1))) (local.get $nr))))
      (br_if $rows (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $mr)))))`;
}

/** Calls the m-row broadcast kernel for m = mr (an if-chain; mr is 1..MR). */
/** @param {Tiles} t @param {string} args */
function callKb(t, args) {
  let code = `(call $kb1 ${args})`;
  for (let m = 2; m <= t.MR; m++) code = `(if (i32.eq (local.get $mr) (i32.const ${m})) (then (call $kb${m} ${args})) (else ${code}))`;
  return code;
}

/**
 * op(A)·B with B read in place (or packed when transposed or at the ragged right edge).
 * Loop order pc → ic → jr → ir: each kc×NR strip of B is loaded once from memory and
 * then reused from L1 by every row panel of the packed A block.
 *
 * Batched: C_n (+)= op(A_n)·op(B_n) for n < batch, X_n = X + n·sX bytes, with an image
 * loop between ic and jr. When A is shared (sa = 0, a convolution's weights) each block
 * of it is packed once for the whole batch. sc = 0 sums all products into one C.
 *
 * ta = 2: A is already packed (by the packA export): no packing here; the block for
 * slice pc, rows ic… of matrix n starts at a + n·sa + 4·(pc·Mp + ic·kc), Mp = M rounded
 * up to whole panels.
 */
/** @param {Tiles} t */
function broadcastDriver(t) {
  const NR = 4 * t.V;
  return `
  (func $gemmBroadcast (param $ta i32) (param $tb i32) (param $M i32) (param $N i32) (param $K i32)
    (param $a i32) (param $lda i32) (param $b i32) (param $ldb i32) (param $c i32) (param $ldc i32) (param $acc i32) (param $scratch i32)
    (param $batch i32) (param $sa i32) (param $sb i32) (param $sc i32)
    (local $pc i32) (local $kc i32) (local $accum i32) (local $ic i32) (local $mc i32) (local $jr i32) (local $nr i32)
    (local $ir i32) (local $mr i32) (local $cp i32) (local $bp i32) (local $ldbB i32) (local $ldcB i32)
    (local $apack i32) (local $bpack i32) (local $tile i32) (local $n i32) (local $bn i32) (local $cn i32) (local $Mp i32)
    (local.set $Mp (i32.mul (i32.div_u (i32.add (local.get $M) (i32.const ${t.MR - 1})) (i32.const ${t.MR})) (i32.const ${t.MR})))
    (local.set $bpack (i32.add (local.get $scratch) (i32.const ${blockRows(t) * t.KC * 4})))
    (local.set $tile (i32.add (local.get $bpack) (i32.const ${t.KC * NR * 4})))
    (local.set $ldbB (i32.shl (local.get $ldb) (i32.const 2)))
    (local.set $ldcB (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $pc (i32.const 0))
    (loop $pcLoop
      (local.set $kc (call $min (i32.const ${t.KC}) (i32.sub (local.get $K) (local.get $pc))))
      (local.set $ic (i32.const 0))
      (loop $icLoop
        (local.set $mc (call $min (i32.const ${blockRows(t)}) (i32.sub (local.get $M) (local.get $ic))))
        (local.set $n (i32.const 0))
        (loop $nLoop
          (if (i32.eq (local.get $ta) (i32.const 2))
            (then
              (local.set $apack (i32.add (i32.add (local.get $a) (i32.mul (local.get $n) (local.get $sa)))
                (i32.shl (i32.add (i32.mul (local.get $pc) (local.get $Mp)) (i32.mul (local.get $ic) (local.get $kc))) (i32.const 2)))))
            (else
              (local.set $apack (local.get $scratch))
              (if (i32.or (i32.eqz (local.get $n)) (local.get $sa)) (then
                (call $packA (local.get $ta) (i32.add (local.get $a) (i32.mul (local.get $n) (local.get $sa))) (local.get $lda)
                  (local.get $ic) (local.get $pc) (local.get $mc) (local.get $kc) (local.get $apack))))))
          (local.set $bn (i32.add (local.get $b) (i32.mul (local.get $n) (local.get $sb))))
          (local.set $cn (i32.add (local.get $c) (i32.mul (local.get $n) (local.get $sc))))
          ;; accumulate after the first K slice, and after the first product of a sum (sc = 0)
          (local.set $accum (i32.or (i32.or (local.get $acc) (i32.gt_s (local.get $pc) (i32.const 0)))
            (i32.and (i32.eqz (local.get $sc)) (i32.gt_s (local.get $n) (i32.const 0)))))
        (local.set $jr (i32.const 0))
        (loop $jrLoop
          (local.set $nr (call $min (i32.const ${NR}) (i32.sub (local.get $N) (local.get $jr))))
          (if (i32.or (local.get $tb) (i32.lt_s (local.get $nr) (i32.const ${NR})))
            (then (call $packB (local.get $tb) (local.get $bn) (local.get $ldb) (local.get $pc) (local.get $jr) (local.get $kc) (local.get $nr) (local.get $bpack))))
          (local.set $ir (i32.const 0))
          (loop $irLoop
            (local.set $mr (call $min (i32.const ${t.MR}) (i32.sub (local.get $mc) (local.get $ir))))
            (local.set $cp (i32.add (local.get $cn) (i32.shl
              (i32.add (i32.mul (i32.add (local.get $ic) (local.get $ir)) (local.get $ldc)) (local.get $jr)) (i32.const 2))))
            (if (i32.or (local.get $tb) (i32.lt_s (local.get $nr) (i32.const ${NR})))
              (then
                ${callKb(t, `(i32.add (local.get $apack) (i32.shl (i32.mul (local.get $ir) (local.get $kc)) (i32.const 2))) (local.get $bpack) (i32.const ${NR * 4}) (local.get $kc) (local.get $tile) (i32.const ${NR * 4}) (i32.const 0)`)}
                (call $addTile (local.get $tile) (local.get $cp) (local.get $ldc) (local.get $mr) (local.get $nr) (local.get $accum)))
              (else
                (local.set $bp (i32.add (local.get $bn) (i32.shl (i32.add (i32.mul (local.get $pc) (local.get $ldb)) (local.get $jr)) (i32.const 2))))
                ${callKb(t, `(i32.add (local.get $apack) (i32.shl (i32.mul (local.get $ir) (local.get $kc)) (i32.const 2))) (local.get $bp) (local.get $ldbB) (local.get $kc) (local.get $cp) (local.get $ldcB) (local.get $accum)`)}))
            (br_if $irLoop (i32.lt_s (local.tee $ir (i32.add (local.get $ir) (i32.const ${t.MR}))) (local.get $mc))))
          (br_if $jrLoop (i32.lt_s (local.tee $jr (i32.add (local.get $jr) (i32.const ${NR}))) (local.get $N))))
          (br_if $nLoop (i32.lt_s (local.tee $n (i32.add (local.get $n) (i32.const 1))) (local.get $batch))))
        (br_if $icLoop (i32.lt_s (local.tee $ic (i32.add (local.get $ic) (i32.const ${blockRows(t)}))) (local.get $M))))
      (br_if $pcLoop (i32.lt_s (local.tee $pc (i32.add (local.get $pc) (i32.const ${t.KC}))) (local.get $K)))))`;
}

/** Columns of Bᵀ per dot tile with r rows: the edge kernels (r < MRD) get wider tiles so they keep enough accumulators in flight. */
/** @param {Tiles} t @param {number} r */
function dotCols(t, r) {
  return Math.max(t.NRD, Math.floor((t.MRD * t.NRD) / r));
}

/**
 * A·Bᵀ tile of R×S dot products, vectorised along K (both operands have K contiguous).
 * Columns past the edge (nr < S) are clamped to the last valid one and their sums
 * dropped. K % 4 leftovers are done in scalar. With batch > 1 the tile is the sum over
 * n of A_n·B_nᵀ (A_n = a + n·sa, B_n = b + n·sb bytes), kept in registers throughout:
 * a weight gradient summed over the images of a batch costs one horizontal sum per
 * output, not one per image.
 */
/** @param {number} R @param {number} S @param {Madd} madd */
function dotKernel(R, S, madd) {
  const locals = [];
  for (let r = 0; r < R; r++) locals.push(`(local $pa${r} i32)`);
  for (let s = 0; s < S; s++) locals.push(`(local $pb${s} i32)`);
  for (let r = 0; r < R; r++) for (let s = 0; s < S; s++) locals.push(`(local $v${r}_${s} v128) (local $s${r}_${s} f32) (local $t${r}_${s} f32)`);
  for (let r = 0; r < R; r++) locals.push(`(local $x${r} v128) (local $f${r} f32)`);
  const setup = [];
  for (let r = 0; r < R; r++) setup.push(`(local.set $pa${r} (i32.add (local.get $a) (i32.mul (local.get $lda) (i32.const ${r}))))`);
  for (let s = 0; s < S; s++) setup.push(`(local.set $pb${s} (i32.add (local.get $b) (i32.mul (local.get $ldb) (call $min (i32.const ${s}) (i32.sub (local.get $nr) (i32.const 1))))))`);
  const vec = [], hsum = [], tail = [], store = [];
  for (let r = 0; r < R; r++) vec.push(`(local.set $x${r} (v128.load (i32.add (local.get $pa${r}) (local.get $o))))`);
  for (let s = 0; s < S; s++) {
    vec.push(`(local.set $y (v128.load (i32.add (local.get $pb${s}) (local.get $o))))`);
    for (let r = 0; r < R; r++) vec.push(`(local.set $v${r}_${s} ${madd(`(local.get $x${r})`, '(local.get $y)', `(local.get $v${r}_${s})`)})`);
  }
  for (let r = 0; r < R; r++) {
    for (let s = 0; s < S; s++) {
      const v = `(local.get $v${r}_${s})`;
      hsum.push(`(local.set $s${r}_${s} (f32.add (f32.add (f32.add (f32x4.extract_lane 0 ${v}) (f32x4.extract_lane 1 ${v})) (f32.add (f32x4.extract_lane 2 ${v}) (f32x4.extract_lane 3 ${v}))) (local.get $t${r}_${s})))`);
    }
  }
  for (let r = 0; r < R; r++) tail.push(`(local.set $f${r} (f32.load (i32.add (local.get $pa${r}) (local.get $o))))`);
  for (let s = 0; s < S; s++) {
    tail.push(`(local.set $g (f32.load (i32.add (local.get $pb${s}) (local.get $o))))`);
    for (let r = 0; r < R; r++) tail.push(`(local.set $t${r}_${s} (f32.add (local.get $t${r}_${s}) (f32.mul (local.get $f${r}) (local.get $g))))`);
  }
  for (let r = 0; r < R; r++) {
    for (let s = 0; s < S; s++) {
      const addr = `(i32.add (local.get $c) (i32.add (i32.mul (local.get $ldc) (i32.const ${r})) (i32.const ${4 * s})))`;
      const val = `(select (f32.add (local.get $s${r}_${s}) (f32.load ${addr})) (local.get $s${r}_${s}) (local.get $accum))`;
      store.push(s === 0 ? `(f32.store ${addr} ${val})` : `(if (i32.gt_s (local.get $nr) (i32.const ${s})) (then (f32.store ${addr} ${val})))`);
    }
  }
  const next = [];
  for (let r = 0; r < R; r++) next.push(`(local.set $pa${r} (i32.add (local.get $pa${r}) (local.get $sa)))`);
  for (let s = 0; s < S; s++) next.push(`(local.set $pb${s} (i32.add (local.get $pb${s}) (local.get $sb)))`);
  return `
  (func $kd${R} (param $a i32) (param $lda i32) (param $b i32) (param $ldb i32) (param $kc i32) (param $c i32) (param $ldc i32)
    (param $nr i32) (param $accum i32) (param $batch i32) (param $sa i32) (param $sb i32)
    ${locals.join(' ')} (local $y v128) (local $g f32) (local $o i32) (local $end i32) (local $kend i32) (local $n i32)
    ${setup.join('\n    ')}
    (local.set $end (i32.shl (i32.shr_u (local.get $kc) (i32.const 2)) (i32.const 4)))
    (local.set $kend (i32.shl (local.get $kc) (i32.const 2)))
    (local.set $n (i32.const 0))
    (loop $img
      (local.set $o (i32.const 0))
      (if (i32.gt_s (local.get $end) (i32.const 0)) (then
        (loop $k4
          ${vec.join('\n          ')}
          (br_if $k4 (i32.lt_u (local.tee $o (i32.add (local.get $o) (i32.const 16))) (local.get $end))))))
      (block $done (loop $k1
        (br_if $done (i32.ge_u (local.get $o) (local.get $kend)))
        ${tail.join('\n        ')}
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $k1)))
      ${next.join('\n      ')}
      (br_if $img (i32.lt_s (local.tee $n (i32.add (local.get $n) (i32.const 1))) (local.get $batch))))
    ${hsum.join('\n    ')}
    ${store.join('\n    ')})`;
}

/** @param {Tiles} t @param {Madd} madd */
function dotKernels(t, madd) {
  return range(t.MRD).map((i) => dotKernel(i + 1, dotCols(t, i + 1), madd)).join('\n');
}

/** One row band of dot tiles (rows i..i+r) across all of N with kernel kd{r}. */
/** @param {Tiles} t @param {number} r */
function dotRowBand(t, r) {
  return `
          (local.set $j (i32.const 0))
          (loop $jLoop${r}
            (call $kd${r}
              (i32.add (local.get $an) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $lda)) (local.get $pc)) (i32.const 2))) (local.get $ldaB)
              (i32.add (local.get $bn) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $ldb)) (local.get $pc)) (i32.const 2))) (local.get $ldbB)
              (local.get $kc)
              (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ldc)) (local.get $j)) (i32.const 2))) (local.get $ldcB)
              (i32.sub (local.get $N) (local.get $j)) (local.get $accum) (local.get $cnt) (local.get $sa) (local.get $sb))
            (br_if $jLoop${r} (i32.lt_s (local.tee $j (i32.add (local.get $j) (i32.const ${dotCols(t, r)}))) (local.get $N))))`;
}

/**
 * A·Bᵀ (transB, A not transposed): K sliced by KCD, then bands of MRD rows, then the
 * leftover rows. C = Σ_n A_n·B_nᵀ over `batch` pairs (byte strides sa, sb): the pairs
 * go in groups of about KCD/K, each a slice of the long sum, so that the rows a band
 * sweeps stay in cache as they do for one long K.
 */
/** @param {Tiles} t */
function dotDriver(t) {
  let leftover = '';
  for (let r = 1; r < t.MRD; r++) leftover += `
        (if (i32.eq (i32.sub (local.get $M) (local.get $i)) (i32.const ${r})) (then ${dotRowBand(t, r)}))`;
  return `
  (func $gemmDot (param $M i32) (param $N i32) (param $K i32)
    (param $a i32) (param $lda i32) (param $b i32) (param $ldb i32) (param $c i32) (param $ldc i32) (param $acc i32)
    (param $batch i32) (param $sa i32) (param $sb i32)
    (local $pc i32) (local $kc i32) (local $accum i32) (local $i i32) (local $j i32) (local $ldaB i32) (local $ldbB i32) (local $ldcB i32)
    (local $group i32) (local $n i32) (local $cnt i32) (local $an i32) (local $bn i32)
    (local.set $ldaB (i32.shl (local.get $lda) (i32.const 2)))
    (local.set $ldbB (i32.shl (local.get $ldb) (i32.const 2)))
    (local.set $ldcB (i32.shl (local.get $ldc) (i32.const 2)))
    ;; pairs per group: about KCD of K in all (one pair when K alone is that long)
    (local.set $group (select (i32.div_u (i32.const ${t.KCD}) (local.get $K)) (i32.const 1) (i32.lt_s (local.get $K) (i32.const ${t.KCD / 2}))))
    (local.set $n (i32.const 0))
    (loop $groupLoop
      (local.set $cnt (call $min (local.get $group) (i32.sub (local.get $batch) (local.get $n))))
      (local.set $an (i32.add (local.get $a) (i32.mul (local.get $n) (local.get $sa))))
      (local.set $bn (i32.add (local.get $b) (i32.mul (local.get $n) (local.get $sb))))
      (local.set $pc (i32.const 0))
      (loop $pcLoop
        (local.set $kc (call $min (i32.const ${t.KCD}) (i32.sub (local.get $K) (local.get $pc))))
        (local.set $accum (i32.or (local.get $acc) (i32.or (i32.gt_s (local.get $pc) (i32.const 0)) (i32.gt_s (local.get $n) (i32.const 0)))))
        (local.set $i (i32.const 0))
        (block $bandsDone
          (loop $iLoop
            (br_if $bandsDone (i32.gt_s (i32.add (local.get $i) (i32.const ${t.MRD})) (local.get $M)))
            ${dotRowBand(t, t.MRD)}
            (local.set $i (i32.add (local.get $i) (i32.const ${t.MRD})))
            (br $iLoop)))
        ${leftover}
        (br_if $pcLoop (i32.lt_s (local.tee $pc (i32.add (local.get $pc) (i32.const ${t.KCD}))) (local.get $K))))
      (br_if $groupLoop (i32.lt_s (local.tee $n (i32.add (local.get $n) (local.get $cnt))) (local.get $batch)))))`;
}

/**
 * Entry points. gemmBatched: C_n (+)= op(A_n)·op(B_n) for n < batch, X_n at X + n·sX
 * (strides in floats, like the leading dims); sc = 0 makes it one sum C (+)= Σ_n.
 * gemm is the single product. Empty shapes return; K = 0 (or an empty sum) clears C
 * unless accumulating; then the dot path for A·Bᵀ and the broadcast path otherwise.
 */
function gemmEntry() {
  return `
  (func $gemmBatched (export "gemmBatched") (param $ta i32) (param $tb i32) (param $M i32) (param $N i32) (param $K i32)
    (param $a i32) (param $lda i32) (param $sa i32) (param $b i32) (param $ldb i32) (param $sb i32)
    (param $c i32) (param $ldc i32) (param $sc i32) (param $acc i32) (param $batch i32) (param $scratch i32)
    (local $i i32) (local $n i32) (local $clear i32)
    (if (i32.or (i32.le_s (local.get $M) (i32.const 0)) (i32.le_s (local.get $N) (i32.const 0))) (then (return)))
    (local.set $sa (i32.shl (local.get $sa) (i32.const 2)))
    (local.set $sb (i32.shl (local.get $sb) (i32.const 2)))
    (local.set $sc (i32.shl (local.get $sc) (i32.const 2)))
    (if (i32.or (i32.le_s (local.get $K) (i32.const 0)) (i32.le_s (local.get $batch) (i32.const 0))) (then
      (if (local.get $acc) (then (return)))
      ;; every C_n, or the one C of a sum
      (local.set $clear (select (i32.const 1) (local.get $batch) (i32.eqz (local.get $sc))))
      (local.set $n (i32.const 0))
      (block $cleared (loop $each
        (br_if $cleared (i32.ge_s (local.get $n) (local.get $clear)))
        (local.set $i (i32.const 0))
        (loop $rows
          (memory.fill (i32.add (i32.add (local.get $c) (i32.mul (local.get $n) (local.get $sc))) (i32.shl (i32.mul (local.get $i) (local.get $ldc)) (i32.const 2)))
            (i32.const 0) (i32.shl (local.get $N) (i32.const 2)))
          (br_if $rows (i32.lt_s (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $M))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $each)))
      (return)))
    (if (i32.and (local.get $tb) (i32.eqz (local.get $ta))) (then
      ;; dot path: a sum runs inside the kernels; separate products one at a time
      (if (i32.eqz (local.get $sc)) (then
        (call $gemmDot (local.get $M) (local.get $N) (local.get $K) (local.get $a) (local.get $lda) (local.get $b) (local.get $ldb)
          (local.get $c) (local.get $ldc) (local.get $acc) (local.get $batch) (local.get $sa) (local.get $sb))
        (return)))
      (local.set $n (i32.const 0))
      (loop $each
        (call $gemmDot (local.get $M) (local.get $N) (local.get $K)
          (i32.add (local.get $a) (i32.mul (local.get $n) (local.get $sa))) (local.get $lda)
          (i32.add (local.get $b) (i32.mul (local.get $n) (local.get $sb))) (local.get $ldb)
          (i32.add (local.get $c) (i32.mul (local.get $n) (local.get $sc))) (local.get $ldc) (local.get $acc)
          (i32.const 1) (i32.const 0) (i32.const 0))
        (br_if $each (i32.lt_s (local.tee $n (i32.add (local.get $n) (i32.const 1))) (local.get $batch))))
      (return)))
    (call $gemmBroadcast (local.get $ta) (local.get $tb) (local.get $M) (local.get $N) (local.get $K) (local.get $a) (local.get $lda)
      (local.get $b) (local.get $ldb) (local.get $c) (local.get $ldc) (local.get $acc) (local.get $scratch)
      (local.get $batch) (local.get $sa) (local.get $sb) (local.get $sc)))

  (func (export "gemm") (param $ta i32) (param $tb i32) (param $M i32) (param $N i32) (param $K i32)
    (param $a i32) (param $lda i32) (param $b i32) (param $ldb i32) (param $c i32) (param $ldc i32) (param $acc i32) (param $scratch i32)
    (call $gemmBatched (local.get $ta) (local.get $tb) (local.get $M) (local.get $N) (local.get $K)
      (local.get $a) (local.get $lda) (i32.const 0) (local.get $b) (local.get $ldb) (i32.const 0)
      (local.get $c) (local.get $ldc) (i32.const 0) (local.get $acc) (i32.const 1) (local.get $scratch)))`;
}

/**
 * The GEMM kernels' WAT (module fields).
 * @param {{ madd: Madd, tiles?: Tiles }} options
 */
export function gemmKernels({ madd, tiles = DEFAULT_TILES }) {
  const t = tiles;
  const parts = [];
  for (let m = 1; m <= t.MR; m++) parts.push(broadcastKernel(m, t, madd));
  parts.push(packA(t), packAExport(t), packB(t), addTile(t), broadcastDriver(t), dotKernels(t, madd), dotDriver(t), gemmEntry());
  return parts.join('\n');
}

/** @param {number} n */
function range(n) {
  return Array.from({ length: n }, (_, i) => i);
}
