/**
 * Fetching one file over HTTP(S) with Node's built-in fetch, or copying it from a local
 * folder, into a sink (the temporary file of io/atomic-write.ts). Failures are
 * FetchFailures whose message is the reason alone ("HTTP 404 Not Found", "connection
 * reset after …").
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { OutputSink } from '../io/atomic-write.js';

/** Why one file could not be fetched; the caller adds which file. */
export class FetchFailure extends Error {}

/** The user interrupted (the signal passed in was aborted). */
export class FetchAborted extends Error {}

export interface FetchOptions {
  /** Give up when no data arrives for this long (connecting, waiting for the response, or mid-body). */
  timeoutMs: number;
  /** Aborts the transfer (Ctrl-C): FetchAborted is thrown. */
  signal?: AbortSignal;
  onProgress?: (received: number, total: number | null) => void;
  userAgent?: string;
}

const NET_REASONS: Record<string, string> = {
  ECONNRESET: 'connection reset',
  ECONNREFUSED: 'connection refused',
  ECONNABORTED: 'connection aborted',
  EPIPE: 'connection closed',
  ENOTFOUND: 'host not found, no DNS entry: check the URL, or are you offline?',
  EAI_AGAIN: 'host name lookup failed, DNS not reachable: are you offline?',
  ETIMEDOUT: 'timed out connecting',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'timed out connecting',
  UND_ERR_HEADERS_TIMEOUT: 'timed out waiting for the response',
  UND_ERR_BODY_TIMEOUT: 'timed out waiting for data',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_CLOSED: 'connection closed',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'the server sent a different number of bytes than it announced',
};

/** Error and its causes, outermost first. */
function chain(err: unknown): (Error & { code?: string })[] {
  const out: (Error & { code?: string })[] = [];
  let e = err as (Error & { code?: string; cause?: unknown }) | undefined;
  for (let depth = 0; e && depth < 8; depth++) {
    out.push(e);
    e = e.cause as typeof e;
  }
  return out;
}

/** A network error as a few words: the innermost known code wins. */
export function networkReason(err: unknown): string {
  const errors = chain(err);
  for (const e of errors.slice().reverse()) {
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code && NET_REASONS[code]) return NET_REASONS[code];
    if (code && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return `TLS certificate problem (${code})`;
    if (/redirect count exceeded/i.test(e.message)) return 'too many redirects';
  }
  const innermost = errors[errors.length - 1];
  return innermost?.message || String(err);
}

const size = (n: number) => `${n} bytes`;

/** Fetches `url` into `sink`; returns the number of bytes written. */
export async function fetchInto(url: string, sink: OutputSink, opts: FetchOptions): Promise<number> {
  if (opts.signal?.aborted) throw new FetchAborted('interrupted');
  const controller = new AbortController();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error('timeout'));
    }, opts.timeoutMs);
  };
  const onAbort = () => controller.abort(new FetchAborted('interrupted'));
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const seconds = `${+(opts.timeoutMs / 1000).toFixed(3)} s`;

  let received = 0;
  let total: number | null = null;
  try {
    arm();
    let res: Response;
    try {
      res = await fetch(url, {
        redirect: 'follow',
        signal: controller.signal,
        // The bytes as stored: a server must not gzip the .gz files once more on the way.
        headers: { 'accept-encoding': 'identity', 'user-agent': opts.userAgent ?? 'kconv' },
      });
    } catch (err) {
      if (opts.signal?.aborted) throw new FetchAborted('interrupted');
      if (timedOut) throw new FetchFailure(`timed out: no response within ${seconds}`);
      throw new FetchFailure(networkReason(err));
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new FetchFailure(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
    }
    const length = res.headers.get('content-length');
    const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
    total = length !== null && /^\d+$/.test(length) && !encoded ? Number(length) : null;
    opts.onProgress?.(0, total);
    const of = () => (total === null ? `after ${size(received)}` : `after ${received} of ${size(total)}`);
    try {
      if (res.body) {
        for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
          arm();
          await sink.write(chunk);
          received += chunk.length;
          opts.onProgress?.(received, total);
        }
      }
    } catch (err) {
      if (opts.signal?.aborted) throw new FetchAborted('interrupted');
      if (timedOut) throw new FetchFailure(`timed out: no data for ${seconds} ${of()}`);
      if ((err as NodeJS.ErrnoException)?.syscall === 'write') throw err; // a disk error, not the network's
      throw new FetchFailure(`${networkReason(err)} ${of()}`);
    }
    if (total !== null && received !== total) throw new FetchFailure(`connection closed ${of()}`);
    return received;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/** Copies `source` (a mirror folder's file) into `sink`; returns its size. */
export async function copyInto(source: string, sink: OutputSink, opts: Pick<FetchOptions, 'signal' | 'onProgress'>): Promise<number> {
  if (opts.signal?.aborted) throw new FetchAborted('interrupted');
  let total: number;
  try {
    const st = await stat(source);
    if (!st.isFile()) throw new FetchFailure('not a regular file in the mirror folder');
    total = st.size;
  } catch (err) {
    if (err instanceof FetchFailure) throw err;
    throw readFailure(err);
  }
  opts.onProgress?.(0, total);
  let received = 0;
  try {
    for await (const chunk of createReadStream(source, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      if (opts.signal?.aborted) throw new FetchAborted('interrupted');
      await sink.write(chunk);
      received += chunk.length;
      opts.onProgress?.(received, total);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException)?.syscall === 'read' || (err as NodeJS.ErrnoException)?.syscall === 'open') throw readFailure(err);
    throw err;
  }
  return received;
}

function readFailure(err: unknown): FetchFailure {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new FetchFailure('not in the mirror folder');
  return new FetchFailure(`cannot read it (${code ?? (err as Error).message})`);
}
