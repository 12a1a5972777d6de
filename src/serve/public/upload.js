// @ts-check
// Uploading a picture: the server decodes and preprocesses it, as `kconv predict file.png`
// does, and answers with its input and maps; the page shows the picture on the pad.
import { $, stats } from './dom.js';
import { drawMaps } from './maps.js';
import { blankPad, showPicture } from './pad.js';
import { ask, reset, upload as uploading } from './predict.js';
import { drawInput, say, showBlank, showPrediction, status } from './results.js';

/** Listens to the Upload input. */
export function listenToUpload() {
  const input = /** @type {HTMLInputElement} */ ($('upload'));
  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    uploading.busy = true;
    try {
      await upload(file);
    } finally {
      uploading.busy = false;
    }
  });
}

/** @param {File} file */
async function upload(file) {
  reset();
  const since = performance.now();
  const form = new FormData();
  form.append('file', file, file.name);
  const answer = await ask(form, true);
  if (answer.error !== undefined) {
    // Nothing of the last picture may stay: it would read as this file's answer.
    blankPad();
    showBlank();
    status('');
    stats.source = null;
    const why = answer.error.startsWith(`${file.name}:`) ? answer.error : `${file.name}: ${answer.error}`;
    say(`Upload failed: ${why}`, true);
    return;
  }
  const result = answer.prediction;
  status('');
  stats.source = file.name;
  stats.input = result.input ?? null;
  stats.maps = result.maps ?? null;
  drawInput(result.input ?? []);
  showPrediction(result, since);
  drawMaps(result.maps ?? null);
  say(`${file.name}: decoded and preprocessed by the server, as kconv predict does. Draw to start again.`);
  try {
    showPicture(await createImageBitmap(file));
  } catch {
    // The browser cannot show it; the prediction stands.
  }
}
