// Types for tsc only: the page imports ./colors.js, which the server serves from dist/show/colors.js.
export * from '../../show/colors.js';
