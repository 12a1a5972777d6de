// @ts-check
// The page of `kconv serve`. Plain JavaScript (type-checked by tsc: tsconfig.json here), no
// framework, no bundle: ES modules, one concern each (pad, draw, predict, upload, results,
// shapes, maps, model, teach), and kconv's own compiled modules, so the drawing is
// preprocessed by exactly the code the CLI and the server use (dist/image/preprocess.js)
// and the maps have kconv show's colours (dist/show/colors.js). The network runs in the
// server, the same code as `kconv predict`: while you draw, the page sends the 784 pixels
// to POST /api/predict?maps=1, one request at a time, always the newest drawing (latest wins).
import { stats } from './dom.js';
import { clearPad, listenToPad } from './draw.js';
import { drawKeys, drawMaps } from './maps.js';
import { loadModel } from './model.js';
import { changed } from './predict.js';
import { buildBars, status } from './results.js';
import { buildHeader, loadShapes } from './shapes.js';
import { initTeach } from './teach.js';
import { listenToUpload } from './upload.js';

/** Without a Kannada font the numerals would show as empty boxes: then leave them out. */
function kannadaFont() {
  const c = /** @type {CanvasRenderingContext2D} */ (document.createElement('canvas').getContext('2d'));
  c.font = '20px sans-serif';
  return c.measureText('೮೩').width !== c.measureText('\u0cff\u0cfe').width;
}
if (!kannadaFont()) document.body.classList.add('no-kannada');

listenToPad();
listenToUpload();
buildHeader();
buildBars();

/** @type {ReturnType<typeof setTimeout> | undefined} */
let resizing;
window.addEventListener('resize', () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => drawMaps(stats.maps), 100);
});

drawKeys();
clearPad();
loadShapes().catch((error) => status(`cannot load the digits' pictures: ${error.message}`, true));
loadModel().catch((error) => status(`cannot load the model: ${error.message}`, true));
// The teach panel (teach.js), shown with kconv serve --collect DIR.
void initTeach({ input: () => stats.input, predicted: () => stats.label, clear: clearPad, repredict: () => changed(performance.now()) });
