/**
 * kconv serve under load, and under attack.
 *
 *   node bench/serve.mjs                        (part of npm run bench)
 *   node bench/serve.mjs --weights model.json   a given model (else the default net, trained for it)
 *   node bench/serve.mjs --no-browser           skip the page's stroke-to-bars latency
 *
 * 1. Load: 10,000 POST /api/predict requests (JSON, one val.csv image each, 20 different
 *    ones) over 50 connections with autocannon, after a 2,000-request warm-up; then the
 *    same again. Requests/s, p50 and p99 latency, errors (anything but 200), and the
 *    server's memory (RSS and heap, from /healthz) after the warm-up and after each round:
 *    a leak would grow from round to round.
 * 2. Hostile: 200 requests of 20 kinds (truncated JSON, 784 strings, 10⁶ numbers, a 50 MB
 *    body, wrong content types, a real 30000×30000 PNG bomb, …): each must get a 4xx, and
 *    the server must still answer /healthz and classify correctly afterwards.
 * 3. The page (needs Chromium): stroke → bars on screen, for strokes drawn one at a time.
 *
 * Data: $KCONV_DATA, else ../shared/data/kannada. Machines here are shared: read the
 * figures as this run's, not as constants.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync, crc32 } from 'node:zlib';
import autocannon from 'autocannon';
import { readDataset } from '../dist/data/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const value = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const log = (s) => process.stderr.write(s + '\n');
const dataDir = resolve(process.env.KCONV_DATA ?? join(here, '../../shared/data/kannada'));
const KCONV = join(here, '../bin/kconv.js');
const CHROMIUM = process.env.KCONV_CHROMIUM ?? '/usr/bin/chromium';

if (!existsSync(join(dataDir, 'val.csv'))) {
  console.error(`bench/serve: no val.csv in ${dataDir}: set KCONV_DATA to the Kannada-MNIST folder`);
  process.exit(1);
}

const tmp = mkdtempSync(join(tmpdir(), 'kconv-serve-bench-'));
let server;
const results = {};
try {
  let weights = value('--weights');
  if (!weights) {
    weights = join(tmp, 'model.json');
    log('training the default net for the benchmark (5 epochs of train.csv)…');
    const t = spawnSync(process.execPath, [KCONV, 'train', join(dataDir, 'train.csv'), '--no-val', '--out', weights], { encoding: 'utf8' });
    if (t.status !== 0) throw new Error(`kconv train failed: ${t.stderr.trim().split('\n').pop()}`);
  }
  const { images: val } = await readDataset(join(dataDir, 'val.csv'));
  const image = (i) => Array.from(val.pixels.subarray(i * 784, (i + 1) * 784));
  const predicted = spawnSync(process.execPath, [KCONV, 'predict', join(dataDir, 'val.csv'), '--weights', weights], { encoding: 'utf8' }).stdout.trim().split('\n').slice(1).map((l) => Number(l.split(',')[1]));

  // ---- the server -------------------------------------------------------------------------
  server = spawn(process.execPath, [KCONV, 'serve', '--weights', weights, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let serverErr = '';
  server.stderr.on('data', (d) => (serverErr += d));
  const base = await new Promise((ok, fail) => {
    server.stderr.on('data', () => {
      const m = /on (http:\/\/127\.0\.0\.1:\d+)\//.exec(serverErr);
      if (m) ok(m[1]);
    });
    server.on('exit', (code) => fail(new Error(`kconv serve exited (${code}): ${serverErr}`)));
  });
  const health = async () => (await fetch(`${base}/healthz`)).json();
  const mb = (bytes) => Math.round(bytes / 1048576);

  // ---- 1. load ------------------------------------------------------------------------------
  const requests = Array.from({ length: 20 }, (_, i) => ({
    method: 'POST', path: '/api/predict', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pixels: image(i) }),
  }));
  /** autocannon's run, with the rate from our own clock (its own is sampled once a second). */
  const cannon = (amount) => new Promise((ok, fail) => {
    const start = performance.now();
    autocannon({ url: base, connections: 50, amount, requests, timeout: 30 }, (error, r) => (error ? fail(error) : ok({ ...r, rate: r.requests.total / ((performance.now() - start) / 1000) })));
  });
  log('load: warm-up, 2,000 requests…');
  await cannon(2000);
  const before = (await health()).memory;
  const rounds = [];
  for (let round = 1; round <= 2; round++) {
    log(`load: round ${round}, 10,000 requests over 50 connections…`);
    const r = await cannon(10_000);
    const memory = (await health()).memory;
    rounds.push({
      requests: r.requests.total, requests_per_s: r.rate, latency_p50_ms: r.latency.p50, latency_p99_ms: r.latency.p99,
      errors: r.errors + r.timeouts + r.non2xx, rss_mb: mb(memory.rss), heap_mb: mb(memory.heapUsed),
    });
  }
  // The answers under load are right: the same labels as kconv predict.
  const check = await (await fetch(`${base}/api/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ images: Array.from({ length: 20 }, (_, i) => image(i)) }) })).json();
  const right = check.predictions.every((p, i) => p.label === predicted[i]);
  results.load = { connections: 50, before: { rss_mb: mb(before.rss), heap_mb: mb(before.heapUsed) }, rounds, labels_match_kconv_predict: right };

  // ---- 2. hostile -----------------------------------------------------------------------------
  /**
   * One request on its own connection, written by hand (a client library would stop at the
   * first write error, and a 50 MB body is refused while it is still being sent): resolves
   * with the status the server answered, or 0 when it closed without answering.
   */
  const { port } = new URL(base);
  const send = (method, path, type, body, headers = {}) => new Promise((ok) => {
    const head = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
    if (type) head.push(`Content-Type: ${type}`);
    const length = headers['content-length'] ?? (body ? String(body.length) : null);
    if (length !== null) head.push(`Content-Length: ${length}`);
    const socket = connect(Number(port), '127.0.0.1');
    let reply = '';
    let done = false;
    const finish = (status) => {
      if (done) return;
      done = true;
      socket.destroy();
      ok(status);
    };
    socket.on('data', (d) => {
      reply += d;
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(reply);
      if (m) finish(Number(m[1]));
    });
    socket.on('error', () => finish(0));
    socket.on('close', () => finish(0));
    socket.write(head.join('\r\n') + '\r\n\r\n');
    if (!body) return;
    // The body in 64 kB pieces, waiting for the socket to drain, until done or answered.
    let at = 0;
    const pump = () => {
      while (!done && at < body.length) {
        const piece = body.subarray(at, at + 65536);
        at += piece.length;
        if (!socket.write(piece)) return void socket.once('drain', pump);
      }
    };
    pump();
  });
  const chunk = (type, data) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'latin1'), data])) >>> 0);
    return Buffer.concat([head, data, crc]);
  };
  // A real PNG bomb: 30000×30000 1-bit grey, all zeros: ~110 kB that inflate to 112 MB of rows.
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(30000, 0);
  ihdr.writeUInt32BE(30000, 4);
  ihdr[8] = 1;
  const bomb = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(30000 * 3751), { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
  const pixels = JSON.stringify({ pixels: image(0) });
  const header = Array.from({ length: 784 }, (_, i) => `pixel${i}`).join(',');
  const hostile = [
    ['truncated JSON', () => send('POST', '/api/predict', 'application/json', Buffer.from(pixels.slice(0, 200)))],
    ['784 strings', () => send('POST', '/api/predict', 'application/json', Buffer.from(JSON.stringify({ pixels: image(0).map(String) })))],
    ['10⁶ numbers', () => send('POST', '/api/predict', 'application/json', Buffer.from(JSON.stringify({ pixels: new Array(1e6).fill(7) })))],
    ['a 50 MB body', () => send('POST', '/api/predict', 'application/json', Buffer.alloc(50 * 1048576, 0x20))],
    ['text/plain, not CSV', () => send('POST', '/api/predict', 'text/plain', Buffer.from('hello'))],
    ['application/xml', () => send('POST', '/api/predict', 'application/xml', Buffer.from('<pixels/>'))],
    ['multipart/form-data', () => send('POST', '/api/predict', 'multipart/form-data; boundary=x', Buffer.from('--x\r\n\r\n--x--'))],
    ['no content type, a GIF', () => send('POST', '/api/predict', null, Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1'))],
    ['a PNG bomb, 30000×30000', () => send('POST', '/api/predict', 'image/png', bomb)],
    ['a PNG that is text', () => send('POST', '/api/predict', 'image/png', Buffer.from('not a png at all'))],
    ['a truncated JPEG', () => send('POST', '/api/predict', 'image/jpeg', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16]))],
    ['nesting 10⁶ deep', () => send('POST', '/api/predict', 'application/json', Buffer.from('['.repeat(1e6) + ']'.repeat(1e6)))],
    ['pixels of 1e309', () => send('POST', '/api/predict', 'application/json', Buffer.from(`{"pixels":[${new Array(784).fill('1e309')}]}`))],
    ['__proto__', () => send('POST', '/api/predict', 'application/json', Buffer.from(`{"__proto__":{"x":1},"pixels":${JSON.stringify(image(0))}}`))],
    ['a CSV of 10⁵ columns', () => send('POST', '/api/predict', 'text/csv', Buffer.from(`${header},${Array.from({ length: 1e5 }, (_, i) => `x${i}`)}\n`))],
    ['a CSV row with a bad value', () => send('POST', '/api/predict', 'text/csv', Buffer.from(`${header}\n${image(0).map((v, i) => (i === 99 ? '-1' : v))}\n`))],
    ['invalid UTF-8', () => send('POST', '/api/predict', 'application/json', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))],
    ['GET /api/predict', () => send('GET', '/api/predict')],
    ['a path out of the assets', () => send('GET', '/assets/../../../etc/passwd')],
    ['a wrong Content-Length', () => send('POST', '/api/predict', 'application/json', Buffer.from(pixels), { 'content-length': '5' })],
  ];
  log(`hostile: ${hostile.length} kinds × 10 = ${hostile.length * 10} requests…`);
  const hostileResults = [];
  for (const [name, fire] of hostile) {
    const statuses = [];
    for (let k = 0; k < 10; k++) statuses.push(await fire());
    hostileResults.push({ name, statuses: [...new Set(statuses)].join('/'), all4xx: statuses.every((s) => s >= 400 && s < 500) });
  }
  const after = await health();
  const still = (await (await fetch(`${base}/api/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: pixels })).json()).predictions[0].label === predicted[0];
  // Memory the attack took comes back: one more round of load after it, and the heap again.
  log('load: round 3, after the hostile requests…');
  const third = await cannon(10_000);
  const settled = (await health()).memory;
  results.hostile = {
    requests: hostile.length * 10, all_4xx: hostileResults.every((h) => h.all4xx), kinds: hostileResults, healthy_after: after.status === 'ok' && still,
    rss_mb_after: mb(after.memory.rss), heap_mb_after: mb(after.memory.heapUsed),
    then_load: { requests_per_s: third.rate, errors: third.errors + third.timeouts + third.non2xx, rss_mb: mb(settled.rss), heap_mb: mb(settled.heapUsed) },
  };

  // ---- 3. the page ------------------------------------------------------------------------------
  if (!args.includes('--no-browser')) {
    if (!existsSync(CHROMIUM)) {
      log(`page: no Chromium at ${CHROMIUM} (apt-get install chromium): the stroke-to-bars latency is not measured`);
    } else {
      log('page: stroke → bars, 60 strokes one at a time, then drawing without pause…');
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        await page.goto(`${base}/`);
        await page.waitForSelector('#layers tbody tr');
        const box = await page.locator('#pad').boundingBox();
        const idle = () => page.waitForFunction(() => window.kconv.idle());
        const latencies = async () => page.evaluate(() => window.kconv.latencies.splice(0));
        // One stroke at a time: each is measured on its own, nothing queued before it.
        for (let k = 0; k < 60; k++) {
          const y = box.y + 40 + (k % 20) * 10;
          await page.mouse.move(box.x + 60 + (k % 3) * 30, y);
          await page.mouse.down();
          await page.mouse.move(box.x + 200, y + 20, { steps: 1 });
          await page.mouse.up();
          await idle();
          await page.waitForTimeout(30);
        }
        const single = (await latencies()).slice(5); // the first few warm the page up
        await page.click('#clear');
        // Drawing without pause: mouse moves every ~8 ms, answers as fast as they come.
        await page.mouse.move(box.x + 40, box.y + 40);
        await page.mouse.down();
        for (let k = 0; k < 200; k++) await page.mouse.move(box.x + 40 + ((k * 7) % 200), box.y + 40 + Math.floor(k / 10) * 10);
        await page.mouse.up();
        await idle();
        const continuous = await latencies();
        const stats = (l) => {
          const s = [...l].sort((a, b) => a - b);
          const q = (f) => Math.round(s[Math.min(s.length - 1, Math.floor(f * s.length))] * 10) / 10;
          return { n: s.length, p50_ms: q(0.5), p90_ms: q(0.9), max_ms: q(1) };
        };
        results.page = { stroke_to_bars: stats(single), while_drawing: stats(continuous) };
      } finally {
        await browser.close();
      }
    }
  }
} finally {
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((ok) => server.on('exit', ok));
  }
  rmSync(tmp, { recursive: true, force: true });
}

const load = results.load;
console.log(`kconv serve benchmark: Node ${process.versions.node}, ${load.connections} connections`);
console.log(`memory after warm-up: RSS ${load.before.rss_mb} MB, heap ${load.before.heap_mb} MB`);
for (const [i, r] of load.rounds.entries()) {
  console.log(`round ${i + 1}: ${r.requests} requests, ${Math.round(r.requests_per_s).toLocaleString('en')} requests/s, latency p50 ${r.latency_p50_ms} ms, p99 ${r.latency_p99_ms} ms, errors ${r.errors}, then RSS ${r.rss_mb} MB, heap ${r.heap_mb} MB`);
}
console.log(`labels under load equal kconv predict's: ${load.labels_match_kconv_predict ? 'yes' : 'NO'}`);
const h3 = results.hostile.then_load;
console.log(`hostile: ${results.hostile.requests} requests, all answered 4xx: ${results.hostile.all_4xx ? 'yes' : 'NO'}; healthy and right after: ${results.hostile.healthy_after ? 'yes' : 'NO'} (RSS ${results.hostile.rss_mb_after} MB, heap ${results.hostile.heap_mb_after} MB); then 10,000 more: ${Math.round(h3.requests_per_s).toLocaleString('en')} requests/s, errors ${h3.errors}, RSS ${h3.rss_mb} MB, heap ${h3.heap_mb} MB`);
for (const h of results.hostile.kinds) console.log(`  ${h.all4xx ? 'ok ' : 'BAD'} ${h.name.padEnd(28)} ${h.statuses}`);
if (results.page) {
  const p = results.page;
  console.log(`page, stroke → bars on screen: one stroke at a time p50 ${p.stroke_to_bars.p50_ms} ms, p90 ${p.stroke_to_bars.p90_ms} ms, max ${p.stroke_to_bars.max_ms} ms (n=${p.stroke_to_bars.n}); while drawing p50 ${p.while_drawing.p50_ms} ms, p90 ${p.while_drawing.p90_ms} ms (n=${p.while_drawing.n})`);
}
console.log(JSON.stringify({ serve: results }));
const failed = load.rounds.some((r) => r.errors > 0) || h3.errors > 0 || !load.labels_match_kconv_predict || !results.hostile.all_4xx || !results.hostile.healthy_after;
process.exitCode = failed ? 1 : 0;
