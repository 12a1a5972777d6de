import type { ServerResponse } from 'node:http';
import path from 'node:path';
import type { FastifyReply } from 'fastify';
import type { Images } from '../data/index.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { single } from '../model/ensemble.js';
import { modelBytes, type ModelFile } from '../model/weights-file.js';
import { HttpError } from './http-error.js';
import type { SampleStore } from './samples.js';
import { serving, type Served } from './served.js';
import { SECURITY_HEADERS } from './transport.js';
import { runFineTune, type Accuracies, type Progress } from './finetune-run.js';

/**
 * One fine-tune at a time in the server process (the finetune library trains on its worker
 * threads, so requests are still answered): from the model served now, on the collected
 * samples mixed with the replay file. Its progress is kept as one status object, read as
 * JSON (GET /api/finetune) or pushed as Server-Sent Events. The result goes to
 * DIR/model.finetuned.json atomically, and is served only when the user accepts it
 * (POST /api/model/use). Stopping the server stops the run between batches and writes
 * nothing: the old files stay as they were.
 */
export const FINETUNED_FILE = 'model.finetuned.json';
/** Fewest samples worth a fine-tune (some are held out to measure it). */
export const MIN_SAMPLES = 10;

export type JobState = 'idle' | 'running' | 'done' | 'failed' | 'stopped';

/** Where the run is (Progress: run r of runs, epoch, running loss and accuracy), and the rest. */
export interface JobStatus extends Progress {
  state: JobState;
  /** Samples and replay images the run trains on. */
  samples: number;
  replay: { file: string; images: number } | null;
  seconds: number;
  /** Accuracy on the held-out samples and on the replay's validation split, before and after. */
  before: Accuracies | null;
  after: Accuracies | null;
  /** How many held-out samples and replay validation images the accuracies are over. */
  heldOut: number | null;
  replayVal: number | null;
  /** The file written (its name in DIR). */
  file: string | null;
  error: string | null;
}

export interface JobOptions {
  store: SampleStore;
  replay: { file: string; images: Images } | null;
  log: (line: string) => void;
  /** Threads the fine-tune computes on (default: the library's). */
  threads?: number;
  /** Epochs (default: the library's). */
  epochs?: number;
}

export class FineTuneJob {
  private current: JobStatus;
  private stopping = false;
  private run: Promise<void> | null = null;
  private tuned: Served | null = null;
  private readonly streams = new Set<ServerResponse>();
  private lastPush = 0;

  constructor(private readonly opts: JobOptions) {
    this.current = this.blank('idle', 0);
  }

  private blank(state: JobState, samples: number): JobStatus {
    const r = this.opts.replay;
    return { state, samples, replay: r ? { file: path.basename(r.file), images: r.images.n } : null, run: 0, runs: 0, epoch: 0, epochs: 0, loss: null, acc: null, seconds: 0, before: null, after: null, heldOut: null, replayVal: null, file: null, error: null };
  }

  status(): JobStatus {
    return { ...this.current };
  }

  /** The fine-tuned model, once a run has finished and written it. */
  result(): Served | null {
    return this.tuned;
  }

  /** Starts a fine-tune of `from` (the model served now); 409 while one runs. */
  start(from: Served): JobStatus {
    if (this.current.state === 'running') throw new HttpError(409, `a fine-tune is already running (epoch ${this.current.epoch} of ${this.current.epochs}): wait for it (GET /api/finetune)`);
    if (this.stopping) throw new HttpError(503, 'kconv serve is stopping');
    if (from.ensemble.members.length !== 1) throw new HttpError(400, 'the served model is an ensemble: fine-tuning takes one model; serve one weights file to fine-tune it');
    const samples = this.opts.store.images();
    if (samples.n < MIN_SAMPLES) throw new HttpError(409, `fine-tuning needs at least ${MIN_SAMPLES} samples, and there are ${samples.n}: teach it more digits first`);
    this.current = { ...this.blank('running', samples.n) };
    const started = Date.now();
    this.run = this.execute(from.ensemble.members[0], from.file, samples, started);
    this.push(true);
    return this.status();
  }

  private async execute(init: ModelFile, initFile: string, samples: { n: number; pixels: Uint8Array; labels: Uint8Array }, started: number): Promise<void> {
    const file = path.join(this.opts.store.dir, FINETUNED_FILE);
    try {
      const out = await runFineTune(init, samples, this.opts.replay?.images ?? null, {
        threads: this.opts.threads,
        epochs: this.opts.epochs,
        initFile,
        samplesFile: this.opts.store.file,
        replayFile: this.opts.replay?.file,
        shouldStop: () => this.stopping,
        onProgress: (p: Progress) => {
          // A new run or epoch is always pushed (a small fine-tune ends within the throttle's 200 ms).
          const turn = p.run !== this.current.run || p.epoch !== this.current.epoch;
          Object.assign(this.current, p, { seconds: (Date.now() - started) / 1000 });
          this.push(turn);
        },
      });
      if (this.stopping || !out) {
        this.current = { ...this.current, state: 'stopped', seconds: (Date.now() - started) / 1000 };
        return;
      }
      await writeFileAtomic(file, modelBytes(out.model), { label: file });
      this.tuned = serving(single(out.model, file), file);
      this.current = { ...this.current, state: 'done', before: out.before, after: out.after, heldOut: out.heldOutSamples, replayVal: out.replayValImages, file: FINETUNED_FILE, seconds: (Date.now() - started) / 1000 };
      const pct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(1)}%`);
      this.opts.log(`kconv serve: fine-tuned on ${samples.n} samples in ${this.current.seconds.toFixed(1)} s: your held-out digits ${pct(out.before.user)} → ${pct(out.after.user)}, replay validation ${pct(out.before.replay)} → ${pct(out.after.replay)}; wrote ${file}\n`);
    } catch (error) {
      const message = (error as Error).message;
      this.current = { ...this.current, state: 'failed', error: message, seconds: (Date.now() - started) / 1000 };
      this.opts.log(`kconv serve: the fine-tune failed: ${message}\n`);
    } finally {
      this.push(true);
    }
  }

  /** Server-Sent Events: the status now, then on every change, until the client goes. */
  stream(reply: FastifyReply): void {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', ...SECURITY_HEADERS });
    // HEAD: the headers alone, not a stream that never ends.
    if (reply.request.method === 'HEAD') {
      res.end();
      return;
    }
    res.write(`retry: 2000\n\n`);
    this.streams.add(res);
    res.on('close', () => this.streams.delete(res));
    this.send(res);
    if (this.stopping) res.end();
  }

  private send(res: ServerResponse): void {
    res.write(`event: status\ndata: ${JSON.stringify(this.current)}\n\n`);
  }

  /** To every stream: at most 5 a second while training, always at the start, each epoch and the end. */
  private push(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastPush < 200) return;
    this.lastPush = now;
    for (const res of this.streams) this.send(res);
  }

  /** Stops a run (it finishes its batch and writes nothing), ends the streams, waits. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const res of this.streams) res.end();
    this.streams.clear();
    await this.run?.catch(() => undefined);
  }
}
