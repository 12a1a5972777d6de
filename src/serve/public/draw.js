// @ts-check
// Drawing with a mouse, a finger or a pen: every stroke asks for a prediction.
import { $ } from './dom.js';
import { at, blankPad, pad, stroke } from './pad.js';
import { changed, reset } from './predict.js';
import { DRAW_HINT, say, showBlank } from './results.js';

/** A new drawing: a blank pad, nothing shown. */
export function clearPad() {
  reset();
  blankPad();
  showBlank();
  say(DRAW_HINT);
}

/** Listens to the pad's pointer and the Clear button. */
export function listenToPad() {
  let drawing = false;
  let last = { x: 0, y: 0 };
  pad.addEventListener('pointerdown', (e) => {
    e.preventDefault();
    pad.setPointerCapture(e.pointerId);
    drawing = true;
    last = at(e);
    stroke(last, last);
    changed(e.timeStamp);
  });
  pad.addEventListener('pointermove', (e) => {
    if (!drawing) return;
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    for (const c of events.length ? events : [e]) {
      const p = at(c);
      stroke(last, p);
      last = p;
    }
    changed(e.timeStamp);
  });
  const stop = () => {
    drawing = false;
  };
  pad.addEventListener('pointerup', stop);
  pad.addEventListener('pointercancel', stop);
  $('clear').addEventListener('click', clearPad);
}
