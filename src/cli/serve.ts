import type { AddressInfo } from 'node:net';
import { Command, InvalidArgumentError } from 'commander';
import { KconvError, UsageError } from '../errors.js';
import { loadWeights } from '../model/ensemble.js';
import { existsSync } from 'node:fs';
import { readDataset } from '../data/index.js';
import { FineTuneJob } from '../serve/finetune-job.js';
import { DEFAULT_MAX_SAMPLES, SampleStore } from '../serve/samples.js';
import { buildServer, DEFAULT_MAX_BODY } from '../serve/server.js';
import type { Io } from './output.js';
import { watchParent } from './parent-watch.js';
import { threadsToUse } from './threads.js';
import { WEIGHTS_HELP } from './weights.js';

interface ServeFlags {
  weights: string;
  port: number;
  host: string;
  maxBody?: number;
  collect?: string;
  replay?: string;
  maxSamples: number;
}

function maxSamples(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 100_000) throw new InvalidArgumentError(`--max-samples must be a whole number 1–100000, got "${value}".`);
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65535) throw new InvalidArgumentError(`--port must be a whole number 0–65535 (0 picks a free port), got "${value}".`);
  return n;
}

/** 10MB, 512kB, 2M, 1048576: a size in bytes. */
export function byteSize(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib)?\s*$/i.exec(value);
  const unit = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1048576, mb: 1048576, mib: 1048576 }[(m?.[2] ?? '').toLowerCase()];
  const n = m && unit ? Math.round(Number(m[1]) * unit) : NaN;
  if (!(n >= 1024 && n <= 1024 * 1048576)) throw new InvalidArgumentError(`--max-body must be a size from 1kB to 1024MB, e.g. 10MB or 512kB, got "${value}".`);
  return n;
}

function listenError(error: unknown, host: string, p: number): KconvError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new KconvError(`port ${p} on ${host} is in use: pick another with --port (--port 0 picks a free one)`);
  if (code === 'EACCES') return new KconvError(`not allowed to listen on port ${p} (ports under 1024 need privileges): pick another with --port`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new KconvError(`cannot listen on --host ${host}: this machine has no such address (127.0.0.1 is this machine only; 0.0.0.0 is every interface)`);
  return new KconvError(`cannot listen on ${host}:${p}: ${(error as Error).message}`);
}

export function serveCommand(io: Io, setExit: (code: number) => void): Command {
  return new Command('serve')
    .description('a web page to draw a digit and watch the network work, and an HTTP API that classifies images (JSON, PNG, JPEG, CSV)')
    .option('--weights <file>', `${WEIGHTS_HELP}; the page draws an ensemble's first model's filters and maps`, 'model.json')
    .option('--port <n>', 'port to listen on (0 picks a free one)', port, 8080)
    .option('--host <address>', 'address to listen on: 127.0.0.1 is this machine only; 0.0.0.0 lets other machines in', '127.0.0.1')
    .option('--max-body <size>', 'largest request body, e.g. 10MB or 512kB; larger ones get 413 (default 10MB)', byteSize)
    .option('--collect <dir>', 'turn on the teach panel: digits you confirm go to DIR/samples.csv (created if missing), fine-tunes to DIR/model.finetuned.json')
    .option('--replay <file>', 'with --collect: the labelled data mixed into a fine-tune so the model keeps what it knew (default: the training file the model names, when it exists)')
    .option('--max-samples <n>', 'with --collect: most samples DIR/samples.csv may hold', maxSamples, DEFAULT_MAX_SAMPLES)
    .addHelpText('after', [
      '',
      'Examples:',
      '  $ kconv serve --weights model.json                 # then open http://127.0.0.1:8080/',
      '  $ kconv serve --weights a.json,b.json              # an ensemble: the mean of their probabilities',
      '  $ curl -s -H "content-type: image/png" --data-binary @digit.png http://127.0.0.1:8080/api/predict',
      '  $ kconv serve --weights model.json --collect mine     # teach it your handwriting, then fine-tune',
      '',
      'API: POST /api/predict (application/json {"pixels": [784]} or {"images": [[784], …]}, image/png,',
      'image/jpeg, text/csv; ?maps=1 adds the feature maps), GET /api/model, GET /healthz.',
      'With --collect: POST/GET /api/samples, DELETE /api/samples/last, GET /api/samples.csv,',
      'POST/GET /api/finetune (GET /api/finetune/events: Server-Sent Events), POST /api/model/use.',
      'The model is reloaded when its weights file changes (one model, not an ensemble).',
      'Ctrl-C or SIGTERM stops taking connections, finishes the requests in flight, and exits 0.',
      '',
    ].join('\n'))
    .action(async (flags: ServeFlags) => {
      const ensemble = await loadWeights(flags.weights);
      const k = ensemble.members.length;
      if (flags.collect === undefined && flags.replay !== undefined) throw new UsageError('--replay is for fine-tuning, which needs --collect DIR: add --collect DIR, or leave --replay out');
      const teach = flags.collect === undefined ? undefined : await openTeach(flags.collect, flags, ensemble.members[0].training?.data?.file, io);
      let app;
      try {
        app = buildServer({ model: ensemble, weightsFile: flags.weights, maxBody: flags.maxBody ?? DEFAULT_MAX_BODY, log: io.err, watch: true, teach });
      } catch (error) {
        await teach?.store.close();
        throw error;
      }
      try {
        await app.listen({ port: flags.port, host: flags.host });
      } catch (error) {
        await app.close();
        throw listenError(error, flags.host, flags.port);
      }
      const address = app.server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      const what = k === 1 ? ensemble.members[0].arch : `an ensemble of ${k} models, probabilities averaged; maps of ${ensemble.files[0]}`;
      io.err(`kconv serve: ${flags.weights} (${what}) on http://${host}:${address.port}/ (API: POST /api/predict, GET /api/model, GET /healthz); Ctrl-C stops\n`);
      if (teach) {
        const s = teach.store.summary();
        io.err(s.problem
          ? `kconv serve: collecting is off until samples.csv is fixed: ${s.problem}\n`
          : `kconv serve: teaching: ${s.total} samples in ${teach.store.file} (at most ${s.max}); fine-tunes replay ${teach.replayText}\n`);
      }
      await new Promise<void>((resolve) => {
        let stopping = false;
        const onSignal = (signal: string) => {
          if (stopping) {
            io.err(`kconv serve: ${signal} again: quitting now\n`);
            process.exit(130);
          }
          stopping = true;
          io.err(`kconv serve: ${signal}: no new connections; finishing the requests in flight…\n`);
          void app.close().then(() => {
            stopWatching();
            process.off('SIGINT', onSignal);
            process.off('SIGTERM', onSignal);
            resolve();
          });
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        // Under npx, SIGTERM reaches npm, not kconv: stop when the process that started kconv is gone.
        const stopWatching = watchParent(() => onSignal('the process that started it exited'));
      });
      io.err('kconv serve: stopped\n');
      setExit(0);
    });
}

/** --collect DIR: the samples (locked, read and checked) and the replay data, read now so a bad file is refused at start. */
async function openTeach(dir: string, flags: ServeFlags, recorded: string | undefined, io: Io) {
  const replayFile = flags.replay ?? (recorded !== undefined && existsSync(recorded) ? recorded : undefined);
  const replay = replayFile === undefined ? null : { file: replayFile, images: (await readDataset(replayFile, { requireLabels: true, requireRows: true })).images };
  const store = await SampleStore.open(dir, { max: flags.maxSamples, log: io.err });
  const job = new FineTuneJob({ store, replay, log: io.err, threads: threadsToUse(undefined, io) });
  const replayText = replay
    ? `${replay.images.n} images of ${replayFile}${flags.replay === undefined ? ' (the model\'s training file)' : ''}`
    : `nothing (${recorded !== undefined ? `the model's training file ${recorded} is not there` : 'the model names no training file'}; give --replay FILE so a fine-tune keeps what the model knew)`;
  return { store, job, replayText };
}
