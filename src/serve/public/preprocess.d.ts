// Types for tsc only: the page imports ./preprocess.js, which the server serves from dist/image/preprocess.js.
export * from '../../image/preprocess.js';
