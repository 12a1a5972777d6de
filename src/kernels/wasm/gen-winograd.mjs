// @ts-check
/**
 * Generates the WAT of the Winograd transforms (semantics, layouts and the reference
 * loops: src/kernels/winograd.ts). Each transform is a small constant matrix applied on
 * both sides of a tile, X ↦ L·X·Lᵀ, unrolled here from the matrices themselves, so the
 * same code makes F(2×2, 3×3) and F(4×4, 3×3) and the relaxed (fused multiply-add) and
 * plain SIMD variants.
 *
 * The four f32x4 lanes hold four neighbouring tiles of a tile row: loads of a few
 * consecutive floats per input row, then shuffles, give one vector per tile column
 * (lane i = tile tx + i); the transform is then plain vector arithmetic, and each of the
 * α² results is one 16-byte store into its row of V (tiles are consecutive there).
 * Weights go four filters to a vector the same way.
 *
 * Exports (byte addresses; sizes, strides and leading dims in floats), with m = 2 or 4:
 *   wgInput{m}(xp, C, plane, W, th, tw, v, ld, xs)      V = Bᵀ d B for every tile of C padded planes
 *   wgOutput{m}(mm, ld, xs, F, th, tw, y, OH, OW, scale, shift, relu)   y = act(scale·Aᵀ M A + shift)
 *   wgGradOutput{m}(dyp, F, plane, W, th, tw, dm, ld, xs)   dM = A dY Aᵀ
 *   wgInputAdjoint{m}(dv, ld, xs, C, th, tw, dxp, plane, W) dX += B dV Bᵀ (overlapping windows add)
 * (ld: between the rows of one position's block, one row per channel; xs: between positions ξ)
 *   wgFilter{m}(w, count, u, uStride)                   U = G g Gᵀ for `count` 3×3 filters
 *   wgFilterAdjoint{m}(du, uStride, count, dw)          dW = Gᵀ dU G
 */

/** @typedef {readonly (readonly number[])[]} Matrix */
/** @typedef {(a: string, b: string, c: string) => string} Madd a·b + c on f32x4 */
/** @typedef {{ m: 2 | 4, alpha: number, BT: Matrix, G: Matrix, AT: Matrix }} Algorithm */

/**
 * The matrices, as in src/kernels/winograd.ts (a unit test checks the two copies agree;
 * this build step runs before TypeScript is compiled, so it cannot import that file).
 * @type {Algorithm}
 */
export const F2X2_3X3 = {
  m: 2,
  alpha: 4,
  BT: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
  G: [[1, 0, 0], [1 / 2, 1 / 2, 1 / 2], [1 / 2, -1 / 2, 1 / 2], [0, 0, 1]],
  AT: [[1, 1, 1, 0], [0, 1, -1, -1]],
};

/** @type {Algorithm} */
export const F4X4_3X3 = {
  m: 4,
  alpha: 6,
  BT: [
    [4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1],
  ],
  G: [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
  AT: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
};

/** @param {string} name */
const get = (name) => `(local.get $${name})`;
/** @param {string} name @param {string} expr */
const set = (name, expr) => `(local.set $${name} ${expr})`;
const ZERO = '(v128.const i32x4 0 0 0 0)';

/**
 * An f32x4 shuffle by 32-bit lane (0–3: lanes of a, 4–7: lanes of b).
 * @param {string} a @param {string} b @param {number[]} lanes
 */
function shuffle(a, b, lanes) {
  const bytes = lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);
  return `(i8x16.shuffle ${bytes.join(' ')} ${a} ${b})`;
}

/** @param {number} c */
function splatConst(c) {
  const s = Math.fround(c).toPrecision(9);
  return `(v128.const f32x4 ${s} ${s} ${s} ${s})`;
}

/** @param {Matrix} L @returns {number[][]} */
function transpose(L) {
  return L[0].map((_, j) => L.map((row) => row[j]));
}

/**
 * Σ coef·expr as one f32x4 expression: a coefficient of ±1 costs an add or subtract,
 * any other a multiply-add.
 * @param {Array<[number, string]>} terms @param {Madd} madd
 */
function combo(terms, madd) {
  const nz = terms.filter(([c]) => c !== 0);
  if (nz.length === 0) return ZERO;
  const one = nz.findIndex(([c]) => c === 1);
  const order = one >= 0 ? [nz[one], ...nz.filter((_, i) => i !== one)] : nz;
  const [c0, e0] = order[0];
  let acc = c0 === 1 ? e0 : c0 === -1 ? `(f32x4.neg ${e0})` : `(f32x4.mul ${e0} ${splatConst(c0)})`;
  for (const [c, e] of order.slice(1)) {
    acc = c === 1 ? `(f32x4.add ${acc} ${e})` : c === -1 ? `(f32x4.sub ${acc} ${e})` : madd(e, splatConst(c), acc);
  }
  return acc;
}

/**
 * Statements setting outs[i] = Σ_k L[i][k]·ins[k]. Winograd matrices come from
 * evaluating at ±points, so their columns (or rows) come in pairs equal up to sign;
 * those share work: columns k1, k2 with |L[i][k1]| = |L[i][k2]| in every row are added
 * and subtracted once (x1 ± x2) for all rows, and rows i, j that differ only in the
 * signs of some terms are e ± o.
 * @param {Matrix} L @param {string[]} ins local names @param {string[]} outs local names
 * @param {Madd} madd @param {string} tmp prefix for temporaries @param {Set<string>} locals collects v128 locals
 */
function applyMatrix(L, ins, outs, madd, tmp, locals) {
  const code = [];
  const cols = L[0].length;
  // Column pairs.
  const pairedWith = new Array(cols).fill(-1);
  for (let k1 = 0; k1 < cols; k1++) {
    if (pairedWith[k1] >= 0) continue;
    for (let k2 = k1 + 1; k2 < cols; k2++) {
      if (pairedWith[k2] >= 0) continue;
      const same = L.every((row) => Math.abs(row[k1]) === Math.abs(row[k2]));
      const used = L.some((row) => row[k1] !== 0);
      const mixed = L.some((row) => row[k1] !== 0 && row[k1] === row[k2]) && L.some((row) => row[k1] !== 0 && row[k1] === -row[k2]);
      if (same && used && mixed) {
        pairedWith[k1] = k2;
        pairedWith[k2] = k1;
        break;
      }
    }
  }
  if (pairedWith.some((p) => p >= 0)) {
    /** @type {Array<Array<[number, string]>>} */
    const rows = L.map(() => []);
    for (let k = 0; k < cols; k++) {
      const k2 = pairedWith[k];
      if (k2 < 0) {
        L.forEach((row, i) => rows[i].push([row[k], get(ins[k])]));
      } else if (k2 > k) {
        const s = `${tmp}s${k}`, d = `${tmp}d${k}`;
        if (L.some((row) => row[k] !== 0 && row[k] === row[k2])) {
          locals.add(s);
          code.push(set(s, `(f32x4.add ${get(ins[k])} ${get(ins[k2])})`));
        }
        if (L.some((row) => row[k] !== 0 && row[k] === -row[k2])) {
          locals.add(d);
          code.push(set(d, `(f32x4.sub ${get(ins[k])} ${get(ins[k2])})`));
        }
        L.forEach((row, i) => {
          if (row[k] !== 0) rows[i].push([row[k], get(row[k] === row[k2] ? s : d)]);
        });
      }
    }
    rows.forEach((terms, i) => code.push(set(outs[i], combo(terms, madd))));
    return code;
  }
  // Row pairs.
  const done = new Array(L.length).fill(false);
  for (let i = 0; i < L.length; i++) {
    if (done[i]) continue;
    let partner = -1;
    for (let j = i + 1; j < L.length && partner < 0; j++) {
      if (done[j]) continue;
      const ok = L[i].every((c, k) => Math.abs(c) === Math.abs(L[j][k]));
      const opposite = L[i].some((c, k) => c !== 0 && c === -L[j][k]);
      if (ok && opposite) partner = j;
    }
    if (partner < 0) {
      code.push(set(outs[i], combo(L[i].map((c, k) => [c, get(ins[k])]), madd)));
      done[i] = true;
      continue;
    }
    /** @type {Array<[number, string]>} */
    const even = [];
    /** @type {Array<[number, string]>} */
    const odd = [];
    L[i].forEach((c, k) => {
      if (c !== 0) (c === L[partner][k] ? even : odd).push([c, get(ins[k])]);
    });
    const e = `${tmp}e${i}`, o = `${tmp}o${i}`;
    locals.add(o);
    code.push(set(o, combo(odd, madd)));
    if (even.length > 0) {
      locals.add(e);
      code.push(set(e, combo(even, madd)));
      code.push(set(outs[i], `(f32x4.add ${get(e)} ${get(o)})`));
      code.push(set(outs[partner], `(f32x4.sub ${get(e)} ${get(o)})`));
    } else {
      code.push(set(outs[i], get(o)));
      code.push(set(outs[partner], `(f32x4.neg ${get(o)})`));
    }
    done[i] = done[partner] = true;
  }
  return code;
}

/** @param {string} prefix @param {number} n @param {Set<string>} locals */
function names(prefix, n, locals) {
  const out = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  out.forEach((x) => locals.add(x));
  return out;
}

/** @param {Set<string>} locals */
function declare(locals) {
  return [...locals].map((n) => `(local $${n} v128)`).join(' ');
}

/** 4×4 transpose of the vectors named a: lane i of out[k] = lane k of a[i]. @param {string[]} a @param {string[]} out */
function transpose4(a, out, tmp = 'tt') {
  return [
    set(`${tmp}0`, shuffle(get(a[0]), get(a[1]), [0, 4, 1, 5])),
    set(`${tmp}1`, shuffle(get(a[2]), get(a[3]), [0, 4, 1, 5])),
    set(`${tmp}2`, shuffle(get(a[0]), get(a[1]), [2, 6, 3, 7])),
    set(`${tmp}3`, shuffle(get(a[2]), get(a[3]), [2, 6, 3, 7])),
    set(out[0], shuffle(get(`${tmp}0`), get(`${tmp}1`), [0, 1, 4, 5])),
    set(out[1], shuffle(get(`${tmp}0`), get(`${tmp}1`), [2, 3, 6, 7])),
    set(out[2], shuffle(get(`${tmp}2`), get(`${tmp}3`), [0, 1, 4, 5])),
    set(out[3], shuffle(get(`${tmp}2`), get(`${tmp}3`), [2, 3, 6, 7])),
  ];
}

/**
 * Loads one input row of four tiles (α columns each, tiles m apart, from $rr) into
 * column vectors cols[k] (lane i = pixel m·i + k).
 * @param {Algorithm} alg @param {string[]} cols @param {Set<string>} locals
 */
function loadWindowRow(alg, cols, locals) {
  const code = [];
  if (alg.m === 4) {
    const q = names('q', 5, locals);
    names('tt', 4, locals);
    for (let i = 0; i < 5; i++) code.push(set(q[i], `(v128.load offset=${16 * i} ${get('rr')})`));
    code.push(...transpose4(q.slice(0, 4), cols.slice(0, 4)));
    code.push(set(cols[4], shuffle(get(cols[0]), get(q[4]), [1, 2, 3, 4])));
    code.push(set(cols[5], shuffle(get(cols[1]), get(q[4]), [1, 2, 3, 5])));
  } else {
    const p = names('q', 3, locals);
    for (let i = 0; i < 3; i++) code.push(set(p[i], `(v128.load offset=${16 * i} ${get('rr')})`));
    code.push(set(cols[0], shuffle(get(p[0]), get(p[1]), [0, 2, 4, 6])));
    code.push(set(cols[1], shuffle(get(p[0]), get(p[1]), [1, 3, 5, 7])));
    code.push(set(cols[2], shuffle(get(cols[0]), get(p[2]), [1, 2, 3, 4])));
    code.push(set(cols[3], shuffle(get(cols[1]), get(p[2]), [1, 2, 3, 5])));
  }
  return code;
}

/**
 * Adds column vectors cols[k] (lane i = pixel m·i + k of one row of four overlapping
 * windows) into memory at $rr: the adjoint of loadWindowRow.
 * @param {Algorithm} alg @param {string[]} cols @param {Set<string>} locals
 */
function addWindowRow(alg, cols, locals) {
  const code = [];
  /** @type {string[]} */
  let parts;
  if (alg.m === 4) {
    const Q = names('q', 4, locals);
    names('tt', 4, locals);
    names('w', 2, locals);
    code.push(...transpose4(cols.slice(0, 4), Q));
    code.push(set('w0', shuffle(get(cols[4]), get(cols[5]), [0, 4, 1, 5])));
    code.push(set('w1', shuffle(get(cols[4]), get(cols[5]), [2, 6, 3, 7])));
    const low = (/** @type {string} */ w, /** @type {number} */ l) => shuffle(get(w), ZERO, [l, l + 1, 4, 4]);
    parts = [
      get(Q[0]),
      `(f32x4.add ${get(Q[1])} ${low('w0', 0)})`,
      `(f32x4.add ${get(Q[2])} ${low('w0', 2)})`,
      `(f32x4.add ${get(Q[3])} ${low('w1', 0)})`,
      low('w1', 2),
    ];
  } else {
    names('w', 3, locals);
    code.push(set('w0', `(f32x4.add ${get(cols[0])} ${shuffle(ZERO, get(cols[2]), [0, 4, 5, 6])})`));
    code.push(set('w1', `(f32x4.add ${get(cols[1])} ${shuffle(ZERO, get(cols[3]), [0, 4, 5, 6])})`));
    code.push(set('w2', shuffle(get(cols[2]), get(cols[3]), [3, 7, 3, 7])));
    parts = [
      shuffle(get('w0'), get('w1'), [0, 4, 1, 5]),
      shuffle(get('w0'), get('w1'), [2, 6, 3, 7]),
      shuffle(get('w2'), ZERO, [0, 1, 4, 4]),
    ];
  }
  parts.forEach((v, i) => code.push(`(v128.store offset=${16 * i} ${get('rr')} (f32x4.add (v128.load offset=${16 * i} ${get('rr')}) ${v}))`));
  return code;
}

/**
 * Loads one row of four non-overlapping m-wide tiles from $rr into column vectors
 * cols[k] (lane i = pixel m·i + k).
 * @param {Algorithm} alg @param {string[]} cols @param {Set<string>} locals
 */
function loadTileRow(alg, cols, locals) {
  const code = [];
  if (alg.m === 4) {
    const q = names('q', 4, locals);
    names('tt', 4, locals);
    for (let i = 0; i < 4; i++) code.push(set(q[i], `(v128.load offset=${16 * i} ${get('rr')})`));
    code.push(...transpose4(q, cols));
  } else {
    const p = names('q', 2, locals);
    for (let i = 0; i < 2; i++) code.push(set(p[i], `(v128.load offset=${16 * i} ${get('rr')})`));
    code.push(set(cols[0], shuffle(get(p[0]), get(p[1]), [0, 2, 4, 6])));
    code.push(set(cols[1], shuffle(get(p[0]), get(p[1]), [1, 3, 5, 7])));
  }
  return code;
}

/**
 * Stores output row vectors cols[s] (lane i = pixel m·i + s) at $rr as pixels: 16-byte
 * vectors q = 0, 1, … each holding what lies in columns $x0 + 4q …, clipped to $OW.
 * @param {Algorithm} alg @param {string[]} cols @param {Set<string>} locals
 */
function storeTileRow(alg, cols, locals) {
  const code = [];
  /** @type {string[]} */
  let vecs;
  if (alg.m === 4) {
    vecs = names('z', 4, locals);
    names('tt', 4, locals);
    code.push(...transpose4(cols, vecs));
  } else {
    vecs = names('z', 2, locals);
    code.push(set(vecs[0], shuffle(get(cols[0]), get(cols[1]), [0, 4, 1, 5])));
    code.push(set(vecs[1], shuffle(get(cols[0]), get(cols[1]), [2, 6, 3, 7])));
  }
  vecs.forEach((v, q) => {
    const n = `(i32.sub ${get('OW')} (i32.add ${get('x0')} (i32.const ${4 * q})))`;
    code.push(`(local.set $n ${n})`);
    code.push(`(if (i32.ge_s ${get('n')} (i32.const 4))
          (then (v128.store offset=${16 * q} ${get('rr')} ${get(v)}))
          (else (if (i32.gt_s ${get('n')} (i32.const 0)) (then (call $storePartial (i32.add ${get('rr')} (i32.const ${16 * q})) ${get(v)} ${get('n')})))))`);
  });
  return code;
}

/** Loops c < $C (or F), ty < $th, tx < $tw by fours around `body`, with `perGroup` run first in each. */
/** @param {string} count @param {string} perChannel @param {string} body */
function tileLoops(count, perChannel, body) {
  return `
    (local.set $c (i32.const 0))
    (loop $cLoop
      ${perChannel}
      (local.set $ty (i32.const 0))
      (loop $tyLoop
        (local.set $tx (i32.const 0))
        (loop $txLoop
          ${body}
          (br_if $txLoop (i32.lt_s (local.tee $tx (i32.add ${get('tx')} (i32.const 4))) ${get('tw')})))
        (br_if $tyLoop (i32.lt_s (local.tee $ty (i32.add ${get('ty')} (i32.const 1))) ${get('th')})))
      (br_if $cLoop (i32.lt_s (local.tee $c (i32.add ${get('c')} (i32.const 1))) ${get(count)})))`;
}

/** Byte address of tile (ty, tx) of plane $c in padded planes at $base: base + 4·(c·plane + m·(ty·W + tx)). @param {number} m @param {string} base */
const planeTile = (m, base) =>
  `(i32.add ${get(base)} (i32.shl (i32.add (i32.mul ${get('c')} ${get('plane')}) (i32.mul (i32.const ${m}) (i32.add (i32.mul ${get('ty')} ${get('W')}) ${get('tx')}))) (i32.const 2)))`;
/** Byte address of column (ty·tw + tx) of row $c of a tile block at $base. @param {string} base */
const blockTile = (base) =>
  `(i32.add ${get(base)} (i32.shl (i32.add (i32.mul ${get('c')} ${get('ld')}) (i32.add (i32.mul ${get('ty')} ${get('tw')}) ${get('tx')})) (i32.const 2)))`;
/** Address of position ξ in a tile block: $bp + ξ·$xi. @param {number} xi */
const atXi = (xi) => (xi === 0 ? get('bp') : `(i32.add ${get('bp')} (i32.mul ${get('xi')} (i32.const ${xi})))`);

const I32_LOCALS = '(local $c i32) (local $ty i32) (local $tx i32) (local $rr i32) (local $bp i32) (local $xi i32) (local $rowB i32)';

/** @param {Algorithm} alg @param {Madd} madd */
function inputTransform(alg, madd) {
  const a = alg.alpha, locals = new Set();
  const cols = names('x', a, locals);
  const T = Array.from({ length: a }, (_, r) => names(`t${r}_`, a, locals));
  const out = names('o', a, locals);
  const body = [`(local.set $rr ${planeTile(alg.m, 'xp')})`, `(local.set $bp ${blockTile('v')})`];
  for (let r = 0; r < a; r++) {
    body.push(...loadWindowRow(alg, cols, locals));
    body.push(...applyMatrix(alg.BT, cols, T[r], madd, 'a', locals));
    body.push(`(local.set $rr (i32.add ${get('rr')} ${get('rowB')}))`);
  }
  for (let j = 0; j < a; j++) {
    body.push(...applyMatrix(alg.BT, T.map((row) => row[j]), out, madd, 'b', locals));
    for (let i = 0; i < a; i++) body.push(`(v128.store ${atXi(i * a + j)} ${get(out[i])})`);
  }
  return `
  (func $wgInput${alg.m} (export "wgInput${alg.m}") (param $xp i32) (param $C i32) (param $plane i32) (param $W i32) (param $th i32) (param $tw i32) (param $v i32) (param $ld i32) (param $xs i32)
    ${I32_LOCALS} ${declare(locals)}
    (local.set $xi (i32.shl ${get('xs')} (i32.const 2)))
    (local.set $rowB (i32.shl ${get('W')} (i32.const 2)))
    ${tileLoops('C', '', body.join('\n          '))})`;
}

/** @param {Algorithm} alg @param {Madd} madd */
function outputTransform(alg, madd) {
  const a = alg.alpha, m = alg.m, locals = new Set(['sc', 'sh']);
  const col = names('k', a, locals);
  const S = Array.from({ length: m }, (_, i) => names(`s${i}_`, a, locals));
  const row = names('r', m, locals);
  const body = [`(local.set $bp ${blockTile('mm')})`];
  for (let j = 0; j < a; j++) {
    for (let k = 0; k < a; k++) body.push(set(col[k], `(v128.load ${atXi(k * a + j)})`));
    body.push(...applyMatrix(alg.AT, col, S.map((s) => s[j]), madd, 'a', locals));
  }
  body.push(`(local.set $x0 (i32.mul ${get('tx')} (i32.const ${m})))`);
  body.push(`(local.set $oy (i32.mul ${get('ty')} (i32.const ${m})))`);
  // y + 4·((c·OH + oy)·OW + x0)
  body.push(`(local.set $rr (i32.add ${get('y')} (i32.shl (i32.add (i32.mul (i32.add (i32.mul ${get('c')} ${get('OH')}) ${get('oy')}) ${get('OW')}) ${get('x0')}) (i32.const 2))))`);
  for (let i = 0; i < m; i++) {
    const rowCode = [...applyMatrix(alg.AT, S[i], row, madd, 'b', locals)];
    for (const r of row) rowCode.push(set(r, madd(get(r), get('sc'), get('sh'))));
    rowCode.push(`(if ${get('relu')} (then ${row.map((r) => set(r, `(f32x4.pmax ${ZERO} ${get(r)})`)).join(' ')}))`);
    rowCode.push(...storeTileRow(alg, row, locals));
    body.push(`(if (i32.lt_s ${get('oy')} ${get('OH')}) (then
          ${rowCode.join('\n          ')}))`);
    body.push(`(local.set $oy (i32.add ${get('oy')} (i32.const 1)))`);
    body.push(`(local.set $rr (i32.add ${get('rr')} ${get('rowB')}))`);
  }
  return `
  (func $wgOutput${m} (export "wgOutput${m}") (param $mm i32) (param $ld i32) (param $xs i32) (param $F i32) (param $th i32) (param $tw i32)
    (param $y i32) (param $OH i32) (param $OW i32) (param $scale i32) (param $shift i32) (param $relu i32)
    ${I32_LOCALS} (local $x0 i32) (local $oy i32) (local $n i32) ${declare(locals)}
    (local.set $xi (i32.shl ${get('xs')} (i32.const 2)))
    (local.set $rowB (i32.shl ${get('OW')} (i32.const 2)))
    ${tileLoops('F', `
      (local.set $sc (v128.load32_splat (i32.add ${get('scale')} (i32.shl ${get('c')} (i32.const 2)))))
      (local.set $sh (v128.load32_splat (i32.add ${get('shift')} (i32.shl ${get('c')} (i32.const 2)))))`, body.join('\n          '))})`;
}

/** @param {Algorithm} alg @param {Madd} madd */
function gradOutputTransform(alg, madd) {
  const a = alg.alpha, m = alg.m, locals = new Set();
  const A = transpose(alg.AT);
  const cols = names('x', m, locals);
  const T = Array.from({ length: m }, (_, r) => names(`t${r}_`, a, locals));
  const out = names('o', a, locals);
  const body = [`(local.set $rr ${planeTile(m, 'dyp')})`, `(local.set $bp ${blockTile('dm')})`];
  for (let r = 0; r < m; r++) {
    body.push(...loadTileRow(alg, cols, locals));
    body.push(...applyMatrix(A, cols, T[r], madd, 'a', locals));
    body.push(`(local.set $rr (i32.add ${get('rr')} ${get('rowB')}))`);
  }
  for (let j = 0; j < a; j++) {
    body.push(...applyMatrix(A, T.map((row) => row[j]), out, madd, 'b', locals));
    for (let i = 0; i < a; i++) body.push(`(v128.store ${atXi(i * a + j)} ${get(out[i])})`);
  }
  return `
  (func $wgGradOutput${m} (export "wgGradOutput${m}") (param $dyp i32) (param $F i32) (param $plane i32) (param $W i32) (param $th i32) (param $tw i32) (param $dm i32) (param $ld i32) (param $xs i32)
    ${I32_LOCALS} ${declare(locals)}
    (local.set $xi (i32.shl ${get('xs')} (i32.const 2)))
    (local.set $rowB (i32.shl ${get('W')} (i32.const 2)))
    ${tileLoops('F', '', body.join('\n          '))})`;
}

/** @param {Algorithm} alg @param {Madd} madd */
function inputAdjointTransform(alg, madd) {
  const a = alg.alpha, m = alg.m, locals = new Set(['mask']);
  const B = transpose(alg.BT);
  const col = names('x', a, locals);
  const S = Array.from({ length: a }, (_, r) => names(`s${r}_`, a, locals));
  const row = names('e', a, locals);
  const body = [
    `(local.set $rr ${planeTile(m, 'dxp')})`,
    `(local.set $bp ${blockTile('dv')})`,
    // lanes of tiles past the end of the tile row hold other tiles' values: drop them
    `(local.set $mask (i32x4.lt_s (v128.const i32x4 0 1 2 3) (i32x4.splat (i32.sub ${get('tw')} ${get('tx')}))))`,
  ];
  for (let j = 0; j < a; j++) {
    for (let i = 0; i < a; i++) body.push(set(col[i], `(v128.and (v128.load ${atXi(i * a + j)}) ${get('mask')})`));
    body.push(...applyMatrix(B, col, S.map((s) => s[j]), madd, 'a', locals));
  }
  for (let r = 0; r < a; r++) {
    body.push(...applyMatrix(B, S[r], row, madd, 'b', locals));
    body.push(...addWindowRow(alg, row, locals));
    body.push(`(local.set $rr (i32.add ${get('rr')} ${get('rowB')}))`);
  }
  return `
  (func $wgInputAdjoint${m} (export "wgInputAdjoint${m}") (param $dv i32) (param $ld i32) (param $xs i32) (param $C i32) (param $th i32) (param $tw i32) (param $dxp i32) (param $plane i32) (param $W i32)
    ${I32_LOCALS} ${declare(locals)}
    (local.set $xi (i32.shl ${get('xs')} (i32.const 2)))
    (local.set $rowB (i32.shl ${get('W')} (i32.const 2)))
    ${tileLoops('C', '', body.join('\n          '))})`;
}

/** @param {Algorithm} alg @param {Madd} madd */
function filterTransform(alg, madd) {
  const a = alg.alpha, m = alg.m, locals = new Set();
  const g = names('g', 9, locals);
  const T = Array.from({ length: a }, (_, r) => names(`t${r}_`, 3, locals));
  const out = names('o', a, locals);
  const body = [];
  // filter i + l for lane l, clamped to the last filter (its lanes land in U's padding)
  for (let l = 0; l < 4; l++) {
    body.push(`(local.set $p${l} (i32.add ${get('w')} (i32.mul (i32.const 36) (call $min (i32.add ${get('i')} (i32.const ${l})) (i32.sub ${get('count')} (i32.const 1))))))`);
  }
  for (let k = 0; k < 9; k++) {
    let e = `(v128.load32_splat offset=${4 * k} ${get('p0')})`;
    for (let l = 1; l < 4; l++) e = `(f32x4.replace_lane ${l} ${e} (f32.load offset=${4 * k} ${get(`p${l}`)}))`;
    body.push(set(g[k], e));
  }
  for (let c = 0; c < 3; c++) body.push(...applyMatrix(alg.G, [g[c], g[3 + c], g[6 + c]], T.map((row) => row[c]), madd, 'a', locals));
  body.push(`(local.set $bp (i32.add ${get('u')} (i32.shl ${get('i')} (i32.const 2))))`);
  for (let r = 0; r < a; r++) {
    body.push(...applyMatrix(alg.G, T[r], out, madd, 'b', locals));
    for (let j = 0; j < a; j++) body.push(`(v128.store ${atXi(r * a + j)} ${get(out[j])})`);
  }
  return `
  (func $wgFilter${m} (export "wgFilter${m}") (param $w i32) (param $count i32) (param $u i32) (param $uStride i32)
    (local $i i32) (local $bp i32) (local $xi i32) (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32) ${declare(locals)}
    (if (i32.le_s ${get('count')} (i32.const 0)) (then (return)))
    (local.set $xi (i32.shl ${get('uStride')} (i32.const 2)))
    (local.set $i (i32.const 0))
    (loop $iLoop
      ${body.join('\n      ')}
      (br_if $iLoop (i32.lt_s (local.tee $i (i32.add ${get('i')} (i32.const 4))) ${get('count')}))))`;
}

/** @param {Algorithm} alg @param {Madd} madd */
function filterAdjointTransform(alg, madd) {
  const a = alg.alpha, m = alg.m, locals = new Set();
  const GT = transpose(alg.G);
  const col = names('x', a, locals);
  const S = Array.from({ length: 3 }, (_, r) => names(`s${r}_`, a, locals));
  const out = Array.from({ length: 3 }, (_, r) => names(`o${r}_`, 3, locals));
  const body = [`(local.set $bp (i32.add ${get('du')} (i32.shl ${get('i')} (i32.const 2))))`];
  for (let j = 0; j < a; j++) {
    for (let r = 0; r < a; r++) body.push(set(col[r], `(v128.load ${atXi(r * a + j)})`));
    body.push(...applyMatrix(GT, col, S.map((s) => s[j]), madd, 'a', locals));
  }
  for (let c = 0; c < 3; c++) body.push(...applyMatrix(GT, S[c], out[c], madd, 'b', locals));
  // lane l is filter i + l: its 9 values are consecutive in dw
  for (let l = 0; l < 4; l++) {
    const stores = [];
    for (let c = 0; c < 3; c++) {
      for (let k = 0; k < 3; k++) stores.push(`(f32.store offset=${4 * (3 * c + k)} ${get('p')} (f32x4.extract_lane ${l} ${get(out[c][k])}))`);
    }
    body.push(`(if (i32.lt_s (i32.add ${get('i')} (i32.const ${l})) ${get('count')}) (then
        (local.set $p (i32.add ${get('dw')} (i32.mul (i32.const 36) (i32.add ${get('i')} (i32.const ${l})))))
        ${stores.join('\n        ')}))`);
  }
  return `
  (func $wgFilterAdjoint${m} (export "wgFilterAdjoint${m}") (param $du i32) (param $uStride i32) (param $count i32) (param $dw i32)
    (local $i i32) (local $bp i32) (local $xi i32) (local $p i32) ${declare(locals)}
    (if (i32.le_s ${get('count')} (i32.const 0)) (then (return)))
    (local.set $xi (i32.shl ${get('uStride')} (i32.const 2)))
    (local.set $i (i32.const 0))
    (loop $iLoop
      ${body.join('\n      ')}
      (br_if $iLoop (i32.lt_s (local.tee $i (i32.add ${get('i')} (i32.const 4))) ${get('count')}))))`;
}

/**
 * All Winograd kernels, for both tile sizes.
 * @param {{ madd: Madd }} options
 */
export function winogradKernels({ madd }) {
  return [F2X2_3X3, F4X4_3X3].flatMap((alg) => [
    inputTransform(alg, madd), outputTransform(alg, madd), gradOutputTransform(alg, madd),
    inputAdjointTransform(alg, madd), filterTransform(alg, madd), filterAdjointTransform(alg, madd),
  ]).join('\n');
}
