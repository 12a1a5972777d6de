// @ts-check
// The model served: its line in the header, its layers, its filters, its training curves
// (GET /api/model, the summary src/serve/summary.ts makes).
import { $, stats } from './dom.js';
import { drawMaps, setFilters } from './maps.js';

/**
 * @typedef {{ index: number, spec: string, outShape: number[], params: number }} Layer
 * @typedef {{ arch: string, file: string, params: number, totalParams?: number, layers: Layer[],
 *   filters: import('./dom.js').MapRow | null, members?: { file: string }[],
 *   training: { history: { valAcc?: number | null }[] } | null }} Model
 */

export async function loadModel() {
  const response = await fetch('/api/model');
  /** @type {Model} */
  const m = await response.json();
  const last = m.training?.history?.at(-1);
  const val = last && last.valAcc != null ? `, validation accuracy ${(last.valAcc * 100).toFixed(1)}%` : '';
  const about = `${m.arch}, ${m.params.toLocaleString('en')} parameters${m.training ? `, ${m.training.history.length} epochs` : ''}${val}`;
  // An ensemble: the bars are the mean of its models; the maps, layers and curves its first model's.
  const members = m.members ?? [];
  const ensemble = members.length > 1;
  // May break after each comma of an architecture, so a phone wraps it between layers.
  const line = ensemble
    ? `ensemble ${m.file}: ${members.length} models (${members.map((x) => x.file).join(', ')}; ${(m.totalParams ?? 0).toLocaleString('en')} parameters), probabilities averaged; filters, maps, layers and curves of model 1, ${members[0].file}: ${about}`
    : `model ${m.file}: ${about}`;
  $('model-line').replaceChildren(...line.split(/(?<=,)/).flatMap((part, i) => (i ? [document.createElement('wbr'), part] : [part])));
  const table = /** @type {HTMLTableElement} */ ($('layers'));
  const body = table.tBodies[0];
  for (const l of m.layers) {
    const tr = document.createElement('tr');
    for (const [text, cls] of [[l.index + 1, ''], [l.spec, ''], [l.outShape.join('×'), ''], [l.params ? l.params.toLocaleString('en') : '–', 'num']]) {
      const td = document.createElement('td');
      td.textContent = String(text);
      if (cls) td.className = String(cls);
      tr.append(td);
    }
    body.append(tr);
  }
  /** @type {HTMLElement} */ (table.querySelector('th:last-child')).className = 'num';
  const foot = table.createTFoot().insertRow();
  foot.innerHTML = `<td></td><td>input 1×28×28</td><td>total</td><td class="num">${m.params.toLocaleString('en')}</td>`;
  if (m.filters) {
    setFilters(m.filters);
    drawMaps(stats.maps);
  }
  const curves = /** @type {HTMLImageElement} */ ($('curves'));
  if (m.training?.history?.length) {
    curves.src = '/api/model/curves.png';
    $('curves-note').textContent = `Training curves${ensemble ? ` of model 1, ${members[0].file}` : ''}, as kconv show --curves draws them.`;
  } else {
    curves.hidden = true;
    $('curves-note').textContent = 'This weights file has no training history.';
  }
}
