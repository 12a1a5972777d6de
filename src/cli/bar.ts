import type cliProgress from 'cli-progress';
import { createRequire } from 'node:module';
import { clock } from './progress.js';
import type { Io } from './output.js';

/**
 * Progress bars on stderr, drawn only when stderr is a terminal (Io.errIsTTY; KCONV_PROGRESS
 * forces it either way). They draw through the Io, not process.stderr, so what they write can
 * be checked, and so that anything else kconv says goes through `say`, which clears the bar's
 * line first: a message written under a live bar would be overwritten by its next frame, and
 * cli-progress's stop() restores the cursor to where the bar started, above the message.
 */

/** The stream cli-progress draws on: the Io's stderr, said to be a terminal (cli-progress draws only on one). */
export function barStream(io: Io): NodeJS.WriteStream {
  const stream = {
    isTTY: true,
    get columns() {
      return io.errColumns?.() ?? 80;
    },
    write(text: string | Uint8Array, ...rest: unknown[]) {
      io.err(typeof text === 'string' ? text : Buffer.from(text).toString('utf8'));
      const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      done?.();
      return true;
    },
    on: () => stream,
    once: () => stream,
    removeListener: () => stream,
  };
  return stream as unknown as NodeJS.WriteStream;
}

/** Whether bars are drawn: stderr is a terminal, unless KCONV_PROGRESS says otherwise (1 forces them, 0 turns them off). */
export function wantsProgress(isTTY: boolean, env: NodeJS.ProcessEnv): boolean {
  if (env.KCONV_PROGRESS === '1') return true;
  if (env.KCONV_PROGRESS === '0') return false;
  return isTTY && env.TERM !== 'dumb';
}

export type Bar = cliProgress.SingleBar;

/** A cli-progress bar on the Io's stderr (see the file's comment), or null when stderr is no terminal. */
export function newBar(io: Io, options: cliProgress.Options, preset?: cliProgress.Preset): Bar | null {
  if (!io.errIsTTY) return null;
  // Loaded on the first bar, not at start-up: a command whose stderr is no terminal never needs it.
  const { SingleBar } = createRequire(import.meta.url)('cli-progress') as typeof cliProgress;
  return new SingleBar({ hideCursor: true, clearOnComplete: true, linewrap: false, ...options, stream: barStream(io) }, preset);
}

/**
 * The progress of a long step that is not training (classifying with --tta, decoding
 * folders of images, …): "label |████░░| done/total · elapsed · ETA" on a terminal; nothing
 * otherwise. `tick` may be called as often as wanted: cli-progress redraws at most every
 * 100 ms, synchronously (the work may keep the event loop busy).
 */
export interface Task {
  tick(done: number, total: number): void;
  /** Clears the line (the result is written next). */
  end(): void;
}

export function startTask(io: Io, label: string, unit: string, showAfterMs = SHOW_AFTER_MS): Task {
  const started = Date.now();
  const bar = newBar(io, {
    format: (_options, params) => {
      const seconds = (Date.now() - started) / 1000;
      const left = params.value > 0 ? (seconds * (params.total - params.value)) / params.value : NaN;
      const width = 24;
      const filled = params.total > 0 ? Math.round((width * params.value) / params.total) : 0;
      return `${label} |${'█'.repeat(filled)}${'░'.repeat(width - filled)}| ${params.value}/${params.total} ${unit} · ${clock(seconds)} · ETA ${clock(left)}`;
    },
    synchronousUpdate: true,
    fps: 10,
  });
  let shown = false;
  return {
    tick: (done, total) => {
      if (!bar) return;
      // Work done in well under a second draws nothing (no bar flashing by).
      if (!shown && Date.now() - started >= showAfterMs) {
        shown = true;
        bar.start(total, done);
      }
      if (shown) bar.update(Math.min(done, total));
    },
    end: () => bar?.stop(),
  };
}

/** A step that ends within this long draws no bar. */
export const SHOW_AFTER_MS = 500;
