/**
 * What kconv train says while it trains: the banner, a bar on a terminal, a line per
 * epoch (and with --json a JSON line on stdout), the final line, and what Ctrl-C does.
 * The run itself is the library's (train/plan.ts, train/ensemble.ts).
 */
import { STDIN, type Images } from '../data/index.js';
import { describeAugmentation, isAugmenting } from '../augment/augment.js';
import { trainEnsemble } from '../train/ensemble.js';
import type { TrainingPlan } from '../train/plan.js';
import { resumePoint } from '../train/resume.js';
import type { FileTrainOptions, TrainEvents } from '../train/trainer.js';
import { newBar } from './bar.js';
import { commandLine } from './invocation.js';
import type { Io } from './output.js';
import { progressLine } from './progress.js';
import type { ReadFlags } from './inputs.js';

/** What the lines need of kconv train's options: --json, and how the data was read (for the resume command). */
type ReportFlags = ReadFlags & { json?: boolean };

export const pct = (x: number | null) => (x === null ? '   -  ' : `${(x * 100).toFixed(2)}%`);

/** Trains the plan's models with their progress on stderr; the exit code (130 when stopped by a signal). */
export async function trainWithProgress(file: string, data: Images, valData: Images | null, plan: TrainingPlan, flags: ReportFlags, io: Io): Promise<number> {
  const { manifest, members } = plan;
  const k = members.length;
  const bars: (() => void)[] = [];
  const stopBars = () => bars.forEach((stop) => stop());
  const signals = watchSignals(io, stopBars);
  const started = Date.now();
  const single = manifest === null ? members[0] : null;
  if (single?.resume?.training) io.err(`kconv: ${resumePoint(single.resume.training, single.opts.out)}\n`);
  const done = members.filter((p) => p.done);
  if (done.length > 0) io.err(`kconv: ${done.map((p) => p.opts.out).join(', ')} ${done.length === 1 ? 'is' : 'are'} trained already; continuing the others\n`);
  try {
    const result = await trainEnsemble(data, valData, manifest, members, (plan) => {
      const label = single ? '' : `model ${plan.index} of ${k} (seed ${plan.opts.seed}, ${plan.opts.out}${plan.resume ? ', resumed' : ''}): `;
      const { events, stopBar } = progressEvents(file, data.n, plan.opts, flags, io, () => signals.signal() !== null, label, single ? {} : { model: plan.index });
      bars.push(stopBar);
      return events;
    });
    stopBars();
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (single) {
      const r = result.results[0]!;
      // The CLI always trains into a file (--out), so a stopped run always has a checkpoint.
      if (r.stopped && r.checkpoint !== null) {
        io.err(`kconv: stopped; checkpoint saved to ${r.checkpoint}. Resume with: ${resumeCommand(file, r.checkpoint, flags)}\n`);
        return 130;
      }
      const { out, saveBest } = single.opts;
      const last = r.history[r.history.length - 1];
      if (!flags.json) io.out(`saved ${saveBest ? `${out} (best epoch) and ${r.checkpoint} (last)` : out}: ${r.history.length} epochs in ${seconds} s${last?.valAcc != null ? `, val acc ${pct(last.valAcc)}` : ''}\n`);
      return finalSignal(io, signals.signal(), `${r.checkpoint} is complete (${r.history.length} epochs)`);
    }
    if (result.stopped) {
      const at = result.stoppedAt!;
      const partial = result.results[at.index - 1]?.stopped;
      io.err(`kconv: stopped at model ${at.index} of ${k}${partial ? ` (checkpoint saved to ${at.opts.out})` : ''}; ${manifest} names all ${k} models. Resume with: ${resumeCommand(file, manifest!, flags)}\n`);
      return 130;
    }
    if (!flags.json) {
      const accs = members.map((p, i) => {
        const h = result.results[i]?.history ?? p.resume?.training?.history ?? [];
        return h[h.length - 1]?.valAcc ?? null;
      });
      const epochs = [...new Set(members.map((p) => p.opts.epochs))].join('/');
      const val = accs.every((a) => a !== null) ? `, val acc ${accs.map((a) => pct(a)).join(', ')}` : '';
      io.out(`saved ${manifest}: an ensemble of ${k} models (${members.map((p) => p.opts.out).join(', ')}), ${epochs} epochs each, in ${seconds} s${val}\n`);
    }
    return finalSignal(io, signals.signal(), `${manifest} and its ${k} models are complete`);
  } finally {
    stopBars();
    signals.dispose();
  }
}

/** A signal that came as the last epoch was saved: the run is complete, but it was asked to stop. */
function finalSignal(io: Io, signal: NodeJS.Signals | null, complete: string): number {
  if (!signal) return 0;
  io.err(`kconv: ${signal} during the final save: training had finished; ${complete}\n`);
  return 130;
}

/** The command that resumes this run, as the user started kconv (npx kconv, kconv, …), with the options needed to read the data again. */
function resumeCommand(file: string, checkpoint: string, flags: ReportFlags): string {
  const reading = [
    ...(flags.labels !== undefined ? ['--labels', flags.labels] : []),
    ...(flags.skipBadRows ? ['--skip-bad-rows'] : []),
  ];
  return commandLine(['train', file, ...reading, '--resume', checkpoint]);
}

/** Ctrl-C / SIGTERM while training: the first finishes the batch and saves; a second quits now (every checkpoint on disk is whole). */
function watchSignals(io: Io, clearBars: () => void): { signal: () => NodeJS.Signals | null; dispose: () => void } {
  let stopSignal: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    clearBars(); // before writing: a live bar would draw over the message (and stop() would move the cursor back above it)
    if (stopSignal) {
      io.err(`\nkconv: stopped at once on a second ${signal}; the last checkpoint is intact\n`);
      process.exit(130);
    }
    stopSignal = signal;
    io.err(`\nkconv: ${signal}: finishing this batch and saving a checkpoint (again to quit at once)\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: () => stopSignal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** One model's progress: the banner, a bar on a terminal, a line per epoch (and with --json a JSON line on stdout, carrying `extra`). */
function progressEvents(
  file: string, n: number, opts: FileTrainOptions, flags: ReportFlags, io: Io, stop: () => boolean,
  label: string, extra: Record<string, unknown>,
): { events: TrainEvents; stopBar: () => void } {
  const columns = io.errColumns ?? (() => 80);
  const bar = newBar(io, { format: (_options, _params, payload) => progressLine(payload, columns()) });
  const images = opts.limit !== null && opts.limit < n ? `${opts.limit} of ${n}` : `${n}`;
  const banner = () => io.err(`${label}training ${opts.arch} on ${file === STDIN ? 'stdin' : file}: ${images} images, ${opts.epochs} epochs, batch ${opts.batchSize}, ${opts.threads} thread${opts.threads === 1 ? '' : 's'}, ${opts.optimizer} lr ${opts.lr}${opts.schedule !== 'constant' ? ` (${opts.schedule})` : ''}${isAugmenting(opts.augment) ? `, augmented (${describeAugmentation(opts.augment)})` : ''}${opts.labelSmoothing ? `, label smoothing ${opts.labelSmoothing}` : ''}${opts.ema ? `, EMA ${opts.ema}` : ''}\n`);
  const state = { epoch: 0, epochs: opts.epochs, batch: 0, batches: 0, loss: null as number | null, acc: null as number | null, imagesPerSecond: null as number | null, batchSize: opts.batchSize };
  const events: TrainEvents = {
    onStart: banner,
    onEpochStart: (epoch, batches) => {
      Object.assign(state, { epoch, batch: 0, batches, loss: null, acc: null });
      bar?.start(batches, 0, state);
    },
    onBatch: (p) => {
      Object.assign(state, { batch: p.batch, loss: p.loss, acc: p.acc, imagesPerSecond: p.imagesPerSecond });
      bar?.update(p.batch, state);
    },
    onEpochEnd: (r, saved) => {
      bar?.stop();
      io.err(`epoch ${String(r.epoch).padStart(3)}/${opts.epochs}  loss ${r.loss.toFixed(4)}  acc ${pct(r.acc)}${r.valAcc === null ? '' : `  val loss ${r.valLoss!.toFixed(4)}  val acc ${pct(r.valAcc)}`}  ${r.seconds.toFixed(2)} s  → ${saved.join(', ')}\n`);
      if (flags.json) io.out(JSON.stringify({ ...extra, ...r, saved }) + '\n');
    },
    shouldStop: stop,
  };
  return { events, stopBar: () => bar?.stop() };
}
