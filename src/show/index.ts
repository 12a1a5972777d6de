/** `kconv show`: pictures of what the network sees (PNG via pngjs) and a terminal view. */
export { activations, convLayers, type Activations, type LayerOutput } from './activations.js';
export { Canvas, capHeight, lineHeight, type Image, type TextOptions } from './canvas.js';
export * as colors from './colors.js';
export { historyOf, renderCurves, type CurvePoint, type CurvesInput, type CurvesLayout } from './curves.js';
export { mapRows, renderDigitView, type DigitView, type DigitViewInput, type DigitViewLayout, type MapRow } from './digit-view.js';
export { renderFilters, type FiltersLayout } from './filters.js';
export { canRender, textWidth } from './font.js';
export { findMistakes, renderMistakes, type MistakesInput, type MistakesLayout } from './mistakes.js';
export { encodePng } from './png.js';
export { grey256, halfBlocks, terminalView, UPPER_HALF, type TerminalView } from './terminal.js';
