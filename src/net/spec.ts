import { SpecError } from '../errors.js';

/** One layer of an architecture, before shapes are known. */
export type LayerSpec =
  | { type: 'conv2d'; outChannels: number; kernel: number; stride: number; padding: number }
  | { type: 'relu' }
  | { type: 'maxpool2d'; size: number; stride: number }
  | { type: 'flatten' }
  | { type: 'dense'; outFeatures: number }
  | { type: 'dropout'; rate: number };

/** Named architectures. `seed` is the article's net; `default` is kconv's; `wide` is the accurate one. */
export const PRESETS: Readonly<Record<string, string>> = {
  seed: 'conv2k5,relu,pool2,dense10',
  default: 'conv8k5,relu,pool2,conv16k5,relu,pool2,dense10',
  wide: 'conv32k3p1,relu,conv32k3p1,relu,pool2,conv64k3p1,relu,conv64k3p1,relu,pool2,dropout0.3,dense128,relu,dropout0.3,dense10',
};

export const GRAMMAR_HELP =
  'convFkK[sS][pP] (F filters of K×K, stride S, padding P), relu, poolK[sS] (max-pool), flatten, denseN, dropoutR (0 ≤ R < 1)';

const TOKENS: Array<[RegExp, (m: RegExpMatchArray) => LayerSpec]> = [
  [/^conv(\d+)k(\d+)(?:s(\d+))?(?:p(\d+))?$/, (m) => ({
    type: 'conv2d', outChannels: +m[1], kernel: +m[2], stride: m[3] === undefined ? 1 : +m[3], padding: m[4] === undefined ? 0 : +m[4],
  })],
  [/^relu$/, () => ({ type: 'relu' })],
  [/^pool(\d+)(?:s(\d+))?$/, (m) => ({ type: 'maxpool2d', size: +m[1], stride: m[2] === undefined ? +m[1] : +m[2] })],
  [/^flatten$/, () => ({ type: 'flatten' })],
  [/^dense(\d+)$/, (m) => ({ type: 'dense', outFeatures: +m[1] })],
  [/^dropout(\d*\.?\d+)$/, (m) => ({ type: 'dropout', rate: +m[1] })],
];

/**
 * Parses an architecture: a preset name, or comma-separated layer tokens such as
 * `conv8k5,relu,pool2,conv16k5s1p2,relu,pool2,dense10`. A flatten before the first
 * dense layer is implied. Errors name the bad token and its position.
 */
export function parseArch(text: string): LayerSpec[] {
  const source = PRESETS[text.trim()] ?? text;
  const tokens = source.split(',').map((t) => t.trim().toLowerCase());
  if (tokens.length === 1 && tokens[0] === '') {
    throw new SpecError(`architecture is empty: give a preset (${Object.keys(PRESETS).join(', ')}) or layers such as ${PRESETS.default}`);
  }
  return tokens.map((token, i) => {
    for (const [re, make] of TOKENS) {
      const m = token.match(re);
      if (!m) continue;
      const spec = make(m);
      checkNumbers(spec, token, i);
      return spec;
    }
    const where = token === '' ? `empty token at position ${i + 1}` : `token ${i + 1} "${token}" is not a layer`;
    throw new SpecError(`architecture "${text}": ${where}; expected one of ${GRAMMAR_HELP}`);
  });
}

function checkNumbers(spec: LayerSpec, token: string, i: number): void {
  const bad = (what: string) => new SpecError(`architecture token ${i + 1} "${token}": ${what}`);
  switch (spec.type) {
    case 'conv2d':
      if (spec.outChannels < 1) throw bad('needs at least 1 filter');
      if (spec.kernel < 1) throw bad('kernel size must be at least 1');
      if (spec.stride < 1) throw bad('stride must be at least 1');
      if (spec.padding >= spec.kernel) throw bad('padding must be smaller than the kernel');
      break;
    case 'maxpool2d':
      if (spec.size < 1) throw bad('pool size must be at least 1');
      if (spec.stride < 1) throw bad('pool stride must be at least 1');
      break;
    case 'dense':
      if (spec.outFeatures < 1) throw bad('needs at least 1 output');
      break;
    case 'dropout':
      if (!(spec.rate >= 0 && spec.rate < 1)) throw bad('rate must be at least 0 and below 1');
      break;
  }
}

/** The canonical token for one layer spec (inverse of parseArch). */
export function formatLayer(spec: LayerSpec): string {
  switch (spec.type) {
    case 'conv2d':
      return `conv${spec.outChannels}k${spec.kernel}${spec.stride !== 1 ? `s${spec.stride}` : ''}${spec.padding !== 0 ? `p${spec.padding}` : ''}`;
    case 'maxpool2d':
      return `pool${spec.size}${spec.stride !== spec.size ? `s${spec.stride}` : ''}`;
    case 'dense':
      return `dense${spec.outFeatures}`;
    case 'dropout':
      return `dropout${spec.rate}`;
    default:
      return spec.type;
  }
}

export function formatArch(specs: readonly LayerSpec[]): string {
  return specs.map(formatLayer).join(',');
}
