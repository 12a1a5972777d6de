import { SpecError } from '../errors.js';
import { kindOf, LAYER_KINDS, LAYER_TYPES, type LayerSpec } from '../layers/registry.js';

export type { LayerSpec, LayerType } from '../layers/registry.js';

/**
 * Named architectures. `seed` is the article's net; `default` is kconv's; `wide` is the
 * accurate one, and `bn` the same with batch normalization after every conv and the
 * hidden dense layer (as ../shared/anchors/torch_ref.py --arch bn).
 */
export const PRESETS: Readonly<Record<string, string>> = {
  seed: 'conv2k5,relu,pool2,dense10',
  default: 'conv8k5,relu,pool2,conv16k5,relu,pool2,dense10',
  wide: 'conv32k3p1,relu,conv32k3p1,relu,pool2,conv64k3p1,relu,conv64k3p1,relu,pool2,dropout0.3,dense128,relu,dropout0.3,dense10',
  bn: 'conv32k3p1,bn,relu,conv32k3p1,bn,relu,pool2,conv64k3p1,bn,relu,conv64k3p1,bn,relu,pool2,dropout0.3,dense128,bn,relu,dropout0.3,dense10',
};

/** Every layer token, for help texts and errors. */
export const GRAMMAR_HELP = LAYER_TYPES.map((t) => LAYER_KINDS[t].token.help).join(', ');

/** The preset a name means (own keys only), or undefined. */
export function presetOf(name: string): string | undefined {
  const key = name.trim();
  return Object.prototype.hasOwnProperty.call(PRESETS, key) ? PRESETS[key] : undefined;
}

/**
 * Parses an architecture: a preset name, or comma-separated layer tokens such as
 * `conv8k5,relu,pool2,conv16k5s1p2,relu,pool2,dense10`. A flatten before the first
 * dense layer is implied (see plan.ts). Errors name the bad token and its position.
 */
export function parseArch(text: string): LayerSpec[] {
  const source = presetOf(text) ?? text;
  const tokens = source.split(',').map((t) => t.trim().toLowerCase());
  if (tokens.length === 1 && tokens[0] === '') {
    throw new SpecError(`architecture is empty: give a preset (${Object.keys(PRESETS).join(', ')}) or layers such as ${PRESETS.default}`);
  }
  return tokens.map((token, i) => {
    for (const type of LAYER_TYPES) {
      const kind = kindOf(type);
      const m = token.match(kind.token.pattern);
      if (!m) continue;
      const spec = kind.parse(m);
      const problem = kind.check(spec);
      if (problem) throw new SpecError(`architecture token ${i + 1} "${token}": ${problem}`);
      return spec;
    }
    const where = token === '' ? `empty token at position ${i + 1}` : `token ${i + 1} "${token.length > 40 ? `${token.slice(0, 40)}…` : token}" is not a layer`;
    throw new SpecError(`architecture "${text.length > 200 ? `${text.slice(0, 200)}…` : text}": ${where}; expected one of ${GRAMMAR_HELP}`);
  });
}

/** The canonical token for one layer spec (inverse of parseArch). */
export function formatLayer(spec: LayerSpec): string {
  return kindOf(spec.type).format(spec);
}

export function formatArch(specs: readonly LayerSpec[]): string {
  return specs.map(formatLayer).join(',');
}
