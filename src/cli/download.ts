import cliProgress from 'cli-progress';
import { Command } from 'commander';
import {
  DEFAULT_DIR,
  DEFAULT_TIMEOUT_MS,
  downloadKannada,
  type DownloadEvent,
  type InternalDownloadOptions,
} from '../download/index.js';
import { failureSummary, unreachable } from '../download/outcome.js';
import { newBar, type Bar } from './bar.js';
import { number } from './options.js';
import type { Io } from './output.js';

interface DownloadFlags {
  dir: string;
  mirror?: string;
  timeout: number;
  verbose?: boolean;
}

function megabytes(bytes: number): string {
  return bytes >= 100_000 ? `${(bytes / 1e6).toFixed(1)} MB` : `${bytes} bytes`;
}

/**
 * `kconv download`: the official Kannada-MNIST files into <dir>/raw, verified against their
 * git blob ids, and train.csv, test.csv, Dig-MNIST.csv (Kaggle layout, labelled) into <dir>.
 * `internal` is for tests (expected blob ids of synthetic files).
 */
export function downloadCommand(io: Io, setExit: (code: number) => void, internal: InternalDownloadOptions = {}): Command {
  return new Command('download')
    .description('fetch the official Kannada-MNIST files, verify them, and write train.csv, test.csv and Dig-MNIST.csv (Kaggle layout, with labels)')
    .option('--dir <folder>', 'where the CSV files go; the official files go to <folder>/raw', DEFAULT_DIR)
    .option('--mirror <url or folder>', 'fetch from this URL base, or copy from this folder, instead of the official GitHub repository (same file names)')
    .option('--verbose', 'when every file fails for one reason (offline), still list each file and its URL')
    .option('--timeout <seconds>', 'give up on a file after this many seconds without data', number('--timeout', 0, Infinity, { minExclusive: true }), DEFAULT_TIMEOUT_MS / 1000)
    .addHelpText('after', [
      '',
      'Examples:',
      '  $ kconv download                                  # into data/kannada/',
      '  $ kconv download --dir ~/kannada --mirror https://example.org/kannada-mnist/',
      '  $ kconv download --mirror ../shared/data/kannada/raw   # copy from a folder',
      '',
      'From https://github.com/vinayprabhu/Kannada_MNIST (data/output_tensors/MNIST_format/), CC BY-SA 4.0.',
      'Each file is checked against its git blob id. A rerun skips files already there and verified,',
      'and CSV files made from them (unless the CSV was changed since). If some files fail, the others',
      'are kept, every failure is reported, and the exit code is 1.',
      '',
    ].join('\n'))
    .action(async (flags: DownloadFlags) => {
      const controller = new AbortController();
      const onSignal = () => controller.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const progress = new ProgressView(io);
      try {
        const report = await downloadKannada(
          { dir: flags.dir, mirror: flags.mirror, timeoutMs: flags.timeout * 1000, signal: controller.signal, onEvent: (e) => progress.on(e) },
          internal,
        );
        progress.stop();
        for (const csv of report.csvs) {
          if (csv.status === 'written' || csv.status === 'present') io.out(`${csv.path}: ${csv.rows} images, labelled\n`);
        }
        const down = unreachable(report);
        if (down && !flags.verbose) {
          // Offline, or the source is down: one line, not one per file with its URL.
          io.err(`kconv: none of the ${down.count} files could be fetched from ${down.where}: ${down.reason}; run kconv download again once it can be reached, or fetch from elsewhere with --mirror <URL or folder> (--verbose lists each file's URL)\n`);
          setExit(1);
          return;
        }
        for (const line of report.failures) io.err(`kconv: ${line}\n`);
        const what = failureSummary(report);
        if (what !== null) {
          io.err(`kconv: ${what}; what succeeded is kept. Run kconv download again to retry (verified files are skipped)\n`);
          setExit(1);
        } else {
          setExit(0);
        }
      } finally {
        progress.stop();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

/** A bar per transfer on a terminal; plain lines otherwise. Finished steps are always one line each. */
class ProgressView {
  private bar: Bar | null = null;
  constructor(private readonly io: Io) {}

  on(e: DownloadEvent): void {
    switch (e.type) {
      case 'verified':
        this.line(`${e.file}: already here, blob id verified (skipped)`);
        break;
      case 'fetch':
        if (!this.io.errIsTTY) this.line(`${e.file}: ${e.replacing ? 'the copy here does not verify; fetching again' : 'fetching'} from ${e.from}`);
        break;
      case 'progress':
        if (!this.io.errIsTTY) break;
        if (!this.bar) {
          this.bar = newBar(this.io, { format: `${e.file} |{bar}| {percentage}% · {done} of {size}` }, cliProgress.Presets.shades_classic);
          if (!this.bar) break;
          this.bar.start(e.total ?? 1, 0, { done: megabytes(0), size: e.total === null ? '?' : megabytes(e.total) });
        }
        if (e.total === null) this.bar.setTotal(Math.max(e.received, 1));
        this.bar.update(e.received, { done: megabytes(e.received) });
        break;
      case 'downloaded':
        this.line(`${e.file}: ${megabytes(e.bytes)}, blob id verified`);
        break;
      case 'failed':
        this.line(`${e.file}: FAILED (see below)`);
        break;
      case 'csv-present':
        this.line(`${e.path}: up to date (${e.rows} images; skipped)`);
        break;
      case 'csv-writing':
        if (!this.io.errIsTTY) this.line(`${e.path}: writing`);
        break;
      case 'csv-written':
        this.line(`${e.path}: written, ${e.rows} images (${megabytes(e.bytes)})`);
        break;
      case 'csv-failed':
        this.line(`${e.file}: FAILED (see below)`);
        break;
      case 'csv-not-made':
        this.line(`${e.file}: not made (needs ${e.missing.join(' and ')})`);
        break;
    }
  }

  private line(text: string): void {
    this.stop();
    this.io.err(text + '\n');
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
