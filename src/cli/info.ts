import { describeAugmentation, isAugmenting } from '../augment/augment.js';
import { Command } from 'commander';
import { UsageError } from '../errors.js';
import { loadWeights, type Ensemble } from '../model/ensemble.js';
import { PRESETS } from '../net/spec.js';
import { summarizeArch, summarizeModel, type NetSummary } from '../model/summary.js';
import type { Io } from './output.js';

interface InfoFlags {
  arch?: string;
  json?: boolean;
}

const count = (n: number) => n.toLocaleString('en-US');
const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

export function infoCommand(io: Io, setExit: (code: number) => void): Command {
  return new Command('info')
    .description('the network layer by layer: output shapes, parameters and multiply-adds per image; the input preprocessing; how a model was trained')
    .argument('[model.json]', 'weights file written by kconv train (default model.json, unless --arch is given); an ensemble manifest or a comma-separated list of weights files describes each model, then the totals')
    .option('--arch <preset|spec>', `describe an architecture without a weights file: a preset (${Object.keys(PRESETS).join(', ')}) or layer tokens`)
    .option('--json', 'print the summary as one JSON document')
    .addHelpText('after', [
      '',
      'Examples:',
      '  $ kconv info model.json',
      '  $ kconv info ensemble.json                 # an ensemble: each model, then the totals',
      '  $ kconv info --arch bn',
      '  $ kconv info --arch conv16k3p1,bn,relu,pool2,gap,dense10 --json',
      '',
      'Parameters are counted as PyTorch counts them (batch normalization\'s running statistics are',
      'buffers, not parameters). Multiply-adds per image: conv F·OH·OW·C·k·k, dense in·out, bn one per',
      'value; relu, pooling, flatten and dropout count 0.',
      '',
    ].join('\n'))
    .action(async (file: string | undefined, flags: InfoFlags) => {
      if (file !== undefined && flags.arch !== undefined) {
        throw new UsageError(`give a weights file or --arch, not both: "${file}" already says its architecture`);
      }
      if (flags.arch !== undefined) {
        const summary = summarizeArch(flags.arch);
        io.out(flags.json ? JSON.stringify(summary) + '\n' : formatSummary(summary, null));
      } else {
        const ensemble = await loadWeights(file ?? 'model.json', '');
        if (ensemble.members.length === 1) {
          const summary = summarizeModel(ensemble.members[0]);
          io.out(flags.json ? JSON.stringify(summary) + '\n' : formatSummary(summary, ensemble.name));
        } else {
          const summary = summarizeEnsemble(ensemble);
          io.out(flags.json ? JSON.stringify(summary) + '\n' : formatEnsemble(summary));
        }
      }
      setExit(0);
    });
}

export interface EnsembleSummary {
  /** What was named: the manifest, or the comma-separated list. */
  file: string;
  /** One summary per model, in order, each with its file. */
  members: (NetSummary & { file: string })[];
  /** Parameters and multiply-adds per image of all the models together. */
  totals: { params: number; macs: number };
}

export function summarizeEnsemble(e: Ensemble): EnsembleSummary {
  const members = e.members.map((m, i) => ({ file: e.files[i], ...summarizeModel(m) }));
  return {
    file: e.name,
    members,
    totals: {
      params: members.reduce((sum, m) => sum + m.totals.params, 0),
      macs: members.reduce((sum, m) => sum + m.totals.macs, 0),
    },
  };
}

/** An ensemble: what it is, each model's summary in turn, then the totals. */
export function formatEnsemble(s: EnsembleSummary): string {
  const k = s.members.length;
  const out = [`${s.file}: an ensemble of ${k} models; its probabilities are the mean of theirs\n`];
  s.members.forEach((m, i) => out.push(`\nmodel ${i + 1} of ${k}: ${formatSummary(m, m.file)}`));
  out.push(`\nensemble: ${k} models, ${count(s.totals.params)} parameters and ${count(s.totals.macs)} mult-adds per image in all\n`);
  return out.join('');
}

/** The summary as a table (as Keras's model.summary() or torchinfo), then the preprocessing and the training story. */
export function formatSummary(s: NetSummary, file: string | null): string {
  const head = ['#', 'layer', 'output', 'parameters', 'mult-adds'];
  const rows = s.layers.map((l) => [String(l.index), l.implied ? `${l.token} (implied)` : l.token, l.outShape.join('×'), count(l.params), count(l.macs)]);
  const total = ['', 'total', '', count(s.totals.params), count(s.totals.macs)];
  const widths = head.map((h, i) => Math.max(h.length, ...[...rows, total].map((r) => r[i].length)));
  const right = new Set([0, 3, 4]);
  const line = (r: string[]) => r.map((v, i) => (right.has(i) ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd() + '\n';
  const rule = line(widths.map((w) => '-'.repeat(w)));
  const { input } = s;
  const out = [
    `${file === null ? 'architecture' : file}: ${s.arch}\n\n`,
    line(head), rule, ...rows.map(line), rule, line(total),
    `\ninput: ${s.inputShape.join('×')} pixels, 0 = background … 255 = ink, as (pixel / ${input.scale} − ${input.mean}) / ${input.std}\n`,
    `output: ${s.classes} class scores (the digits 0–9), softmax probabilities\n`,
  ];
  const t = s.training;
  if (file !== null && !t) out.push('training: no record (not written by kconv train)\n');
  if (t) {
    const o = t.optimizer;
    const optimizer = o.name === 'sgd' ? 'sgd' : o.name === 'momentum' ? `momentum ${o.momentum}` : `adam (β1 ${o.momentum}, β2 ${o.beta2})`;
    const validation = t.validation.kind === 'split' ? `${pct(t.validation.fraction)} of the training file held out`
      : t.validation.kind === 'file' ? t.validation.file : 'none';
    const options = [
      `${optimizer}, lr ${o.lr}${t.schedule === 'constant' ? '' : ` (${t.schedule})`}`,
      `batch ${t.batchSize}`,
      ...(o.weightDecay ? [`weight decay ${o.weightDecay}`] : []),
      ...(isAugmenting(t.augment) ? [`augmented (${describeAugmentation(t.augment)})`] : []),
      ...(t.labelSmoothing ? [`label smoothing ${t.labelSmoothing}`] : []),
      ...(t.ema ? [`weights averaged (EMA ${t.ema})`] : []),
      `seed ${t.seed}`,
      ...(t.threads !== null ? [`${t.threads} thread${t.threads === 1 ? '' : 's'}`] : []),
      ...(t.limit !== null ? [`first ${count(t.limit)} rows`] : []),
    ];
    const progress = t.stoppedAt
      ? `${t.epochsDone} of ${t.epochsTarget} epochs, stopped in epoch ${t.stoppedAt.epoch} after ${t.stoppedAt.batch} batches`
      : `${t.epochsDone} of ${t.epochsTarget} epochs`;
    out.push(`\ntraining: ${progress}, ${t.seconds.toFixed(1)} s in epochs\n`);
    out.push(`  options: ${options.join(', ')}\n`);
    out.push(`  validation: ${validation}\n`);
    if (t.lastLoss !== null) out.push(`  last epoch: loss ${t.lastLoss.toFixed(4)}${t.lastValAcc !== null ? `, val acc ${pct(t.lastValAcc)}` : ''}\n`);
    if (t.best) out.push(`  best val acc: ${pct(t.best.valAcc)} (epoch ${t.best.epoch})${t.keptEpoch !== null ? `; this file keeps epoch ${t.keptEpoch} (--save-best)` : ''}\n`);
  }
  return out.join('');
}
