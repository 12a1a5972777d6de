// @ts-check
// The teach panel of `kconv serve --collect DIR`: confirm or correct the digit just drawn
// (buttons 0–9 or the keys 0–9), which posts its 784 prepared pixels and the label to
// POST /api/samples (DIR/samples.csv); counts per digit, undo, download; fine-tune on the
// samples (progress by Server-Sent Events), before/after accuracy side by side, and
// accepting the fine-tuned model. Without --collect (GET /healthz says collect: false) the
// panel stays hidden. app.js calls initTeach once with what the panel needs from the page.

import { $, KANNADA, stats } from './dom.js';

/**
 * What the panel needs from the page (app.js).
 * @typedef {{ input: () => ArrayLike<number> | null, predicted: () => number | null, clear: () => void, repredict: () => void }} Page
 * @typedef {{ collecting: boolean, total: number, max: number, counts: number[], problem: string | null, removed?: number }} Samples
 * @typedef {{ user: number | null, replay: number | null }} Accuracies
 * @typedef {{ state: 'idle' | 'running' | 'done' | 'failed' | 'stopped', samples: number, replay: { file: string, images: number } | null,
 *   epoch: number, epochs: number, loss: number | null, acc: number | null, seconds: number, before: Accuracies | null,
 *   after: Accuracies | null, file: string | null, error: string | null }} Job
 */

/** @param {number | null | undefined} v */
const pct = (v) => (v === null || v === undefined ? '–' : `${(v * 100).toFixed(1)}%`);

/**
 * For tests: the panel's state.
 * @type {{ samples: Samples | null, job: Job | null, serving: string, busy: boolean }}
 */
const state = { samples: null, job: null, serving: 'original', busy: false };

/**
 * page.input(): the 784 prepared pixels of the drawing shown, or null;
 * page.predicted(): its predicted label, or null; page.clear(): a new drawing;
 * page.repredict(): predict the drawing again (after the served model changed).
 * @param {Page} page
 */
export async function initTeach(page) {
  let response;
  try {
    // Without --collect, no panel (and no request to a teach endpoint, which would be a 404).
    if (!(await (await fetch('/healthz')).json()).collect) return;
    response = await fetch('/api/samples');
  } catch {
    return;
  }
  if (!response.ok) return;
  const panel = $('teach');
  panel.hidden = false;
  stats.teach = state;
  buildButtons(page);
  showCounts(await response.json());
  document.addEventListener('keydown', (e) => {
    const t = /** @type {HTMLInputElement} */ (e.target);
    // Keys typed into a field are the field's (the pen's slider takes none).
    const field = t.isContentEditable || /^(TEXTAREA|SELECT)$/.test(t.tagName) || (t.tagName === 'INPUT' && !/^(range|file|button|checkbox)$/.test(t.type));
    if (e.ctrlKey || e.metaKey || e.altKey || field) return;
    if (/^[0-9]$/.test(e.key)) {
      e.preventDefault();
      void teach(page, Number(e.key));
    }
  });
  $('teach-undo').addEventListener('click', () => void undo());
  $('teach-finetune').addEventListener('click', () => void fineTune());
  $('teach-accept').addEventListener('click', () => void use(page, 'finetuned'));
  $('teach-revert').addEventListener('click', () => void use(page, 'original'));
  follow();
}

/** @param {Page} page */
function buildButtons(page) {
  const row = $('teach-digits');
  for (let k = 0; k < 10; k++) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'teach-digit';
    b.dataset.digit = String(k);
    b.title = `this drawing is a ${k} (key ${k})`;
    b.innerHTML = `<b>${k}</b><span class="kn">${KANNADA[k]}</span><span class="count">0</span>`;
    b.addEventListener('click', () => void teach(page, k));
    row.append(b);
  }
}

/** @param {string} text */
function say(text, error = false) {
  $('teach-status').textContent = text;
  $('teach-status').classList.toggle('error', error);
}

/**
 * A JSON request; the body, or null after saying the server's error.
 * @param {string} method
 * @param {string} url
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
async function call(method, url, body) {
  let response;
  try {
    response = await fetch(url, body === undefined ? { method } : { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  } catch (error) {
    say(`cannot reach kconv serve: ${/** @type {Error} */ (error).message}`, true);
    return null;
  }
  const status = response.status;
  const json = await response.json().catch(() => ({ error: `HTTP ${status}` }));
  if (!response.ok) {
    say(json.error ?? `HTTP ${status}`, true);
    return null;
  }
  return json;
}

/** @param {Samples} s */
function showCounts(s) {
  state.samples = s;
  /** @type {NodeListOf<HTMLButtonElement>} */ (document.querySelectorAll('.teach-digit')).forEach((b) => {
    /** @type {HTMLElement} */ (b.querySelector('.count')).textContent = String(s.counts[Number(b.dataset.digit)]);
    b.disabled = !s.collecting;
  });
  $('teach-total').textContent = `${s.total.toLocaleString('en')} of ${s.max.toLocaleString('en')} samples`;
  /** @type {HTMLButtonElement} */ ($('teach-undo')).disabled = !s.collecting || s.total === 0;
  $('teach-download').hidden = s.total === 0 && !s.problem;
  if (s.problem) say(`collecting is off: ${s.problem}`, true);
}

/**
 * @param {Page} page
 * @param {number} label
 */
async function teach(page, label) {
  if (state.busy || !state.samples?.collecting) return;
  const pixels = page.input();
  if (!pixels) {
    say('draw a digit first, then press its number');
    return;
  }
  state.busy = true;
  try {
    const was = page.predicted();
    /** @type {Samples | null} */
    const s = await call('POST', '/api/samples', { pixels: Array.from(pixels), label });
    if (!s) return;
    showCounts(s);
    say(was === label ? `saved as ${label} (the model got it right)` : `saved as ${label} (the model said ${was ?? '–'})`);
    page.clear();
  } finally {
    state.busy = false;
  }
}

async function undo() {
  /** @type {Samples | null} */
  const s = await call('DELETE', '/api/samples/last');
  if (!s) return;
  showCounts(s);
  say(`removed the last sample (a ${s.removed})`);
}

async function fineTune() {
  const button = /** @type {HTMLButtonElement} */ ($('teach-finetune'));
  button.disabled = true;
  /** @type {Job | null} */
  const j = await call('POST', '/api/finetune');
  if (!j) {
    button.disabled = false;
    return;
  }
  showJob(j);
}

/** Progress as the server pushes it (GET /api/finetune/events). */
function follow() {
  const events = new EventSource('/api/finetune/events');
  events.addEventListener('status', (e) => showJob(JSON.parse(e.data)));
}

/** @param {Job} j */
function showJob(j) {
  state.job = j;
  const running = j.state === 'running';
  /** @type {HTMLButtonElement} */ ($('teach-finetune')).disabled = running;
  const bar = /** @type {HTMLProgressElement} */ ($('teach-progress'));
  bar.hidden = j.state === 'idle';
  bar.max = Math.max(1, j.epochs);
  bar.value = j.epoch;
  const line = {
    idle: '',
    running: `fine-tuning on ${j.samples} samples${j.replay ? ` and ${j.replay.file}` : ''}: epoch ${j.epoch} of ${j.epochs || '…'}${j.loss !== null ? `, loss ${j.loss.toFixed(3)}, accuracy ${pct(j.acc)}` : ''} (${j.seconds.toFixed(0)} s)`,
    done: `fine-tuned in ${j.seconds.toFixed(1)} s: ${j.file} written; accept it to serve it`,
    failed: `the fine-tune failed: ${j.error}`,
    stopped: 'the fine-tune was stopped',
  }[j.state];
  $('teach-job').textContent = line;
  $('teach-job').classList.toggle('error', j.state === 'failed');
  const table = /** @type {HTMLTableElement} */ ($('teach-compare'));
  table.hidden = !j.before;
  if (j.before) {
    /** @type {[string, number | null, number | null | undefined][]} */
    const rows = [
      ['your held-out digits', j.before.user, j.after?.user],
      [j.replay ? `${j.replay.file} (validation split)` : 'replay (none)', j.before.replay, j.after?.replay],
    ];
    table.tBodies[0].replaceChildren(...rows.map(([what, b, a]) => {
      const tr = document.createElement('tr');
      const change = a === undefined || a === null || b === null ? '' : `${a >= b ? '+' : ''}${((a - b) * 100).toFixed(1)}`;
      // A missing side compares as the page always did (null → 0, undefined → NaN: "better").
      const worse = /** @type {number} */ (a) < /** @type {number} */ (b);
      for (const [text, cls] of [[what, ''], [pct(b), 'num'], [pct(a), 'num'], [change, `num ${worse ? 'worse' : 'better'}`]]) {
        const td = document.createElement('td');
        td.textContent = text;
        td.className = cls;
        tr.append(td);
      }
      return tr;
    }));
  }
  $('teach-accept').hidden = j.state !== 'done' || state.serving === 'finetuned';
}

/**
 * @param {Page} page
 * @param {'finetuned' | 'original'} model
 */
async function use(page, model) {
  const r = await call('POST', '/api/model/use', { model });
  if (!r) return;
  state.serving = r.serving;
  $('teach-serving').textContent = r.serving === 'finetuned' ? 'Serving the fine-tuned model.' : 'Serving the original model.';
  $('teach-revert').hidden = r.serving !== 'finetuned';
  $('teach-accept').hidden = r.serving === 'finetuned' || state.job?.state !== 'done';
  say(r.serving === 'finetuned' ? 'now serving the fine-tuned model: draw to try it' : 'back to the original model');
  page.repredict();
}
