/**
 * The edges a new user hits first (issue 24, the CLI's items) that need processes: pictures
 * on standard input and through a FIFO, Ctrl-C's bar and resume hint on a spawned train,
 * progress bars on a (pseudo-)terminal, download from a closed port, npm install's
 * "building kconv…", and serve under a parent that dies. The rest is in
 * test/unit/first-use.test.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_INPUT, loadModel, saveModel, type ModelFile } from '../../src/model/weights-file.js';
import { createNetwork } from '../../src/net/index.js';
import { KCONV } from '../helpers/cli.js';
import { tempDir, writeDigits } from '../helpers/digits.js';
import { pngBytes, type Rgba } from '../helpers/images.js';
import { kconv } from '../helpers/in-process.js';
import { digitPicture, labelsOf, OTHER_PICTURES, writePictures } from '../helpers/pictures.js';
import { Random } from '../../src/random.js';

let dir: string;
let model: ModelFile;
const p = (...parts: string[]) => join(dir, ...parts);
const ROOT = dirname(dirname(KCONV));

/** The built CLI, spawned, with bytes on its standard input. */
function spawnKconv(args: string[], opts: { input?: Buffer; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KCONV, ...args], { cwd: opts.cwd ?? dir, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
    child.stdin.on('error', () => undefined); // kconv may refuse before reading it all
    child.stdin.end(opts.input ?? Buffer.alloc(0));
  });
}

beforeAll(async () => {
  dir = tempDir('kconv-edges-');
  await saveModel(p('m.json'), { input: DEFAULT_INPUT, arch: 'conv4k5,relu,pool2,dense10', net: createNetwork('conv4k5,relu,pool2,dense10', 1) });
  model = await loadModel(p('m.json'));
  writePictures(dir);
  // Larger than the 64 KiB that standard input is sniffed by: noise compresses badly.
  const noisy = digitPicture(5, 3);
  const r = new Random(9);
  const big: Rgba = { width: 200, height: 200, data: new Uint8Array(200 * 200 * 4) };
  for (let y = 0; y < 200; y++) for (let x = 0; x < 200; x++) {
    const v = x >= 80 && x < 120 && y >= 80 && y < 120 ? noisy.data[((y - 80) * 40 + x - 80) * 4] : 235 + r.int(20);
    big.data.set([v, v, v, 255], (y * 200 + x) * 4);
  }
  writeFileSync(p('big.png'), pngBytes(big));
});

describe('pictures are told by their first bytes, for files and standard input', () => {
  it('the same pictures from standard input', async () => {
    for (const [name, format, bytes] of OTHER_PICTURES) {
      const r = await spawnKconv(['predict', '-', '--weights', p('m.json')], { input: bytes });
      expect(r.code, name).toBe(1);
      expect(r.err).toBe(`kconv: stdin: a ${format} image: kconv reads PNG and JPEG: convert it to PNG or JPEG (e.g. with ImageMagick: convert - png:- | kconv …)\n`);
    }
  });

  it('`cat one.png | kconv predict -` decodes the PNG; a JPEG and a PNG over 64 KiB too', async () => {
    const files = [p('one.png'), p('two.jpg'), p('big.png')];
    expect(readFileSync(p('big.png')).length).toBeGreaterThan(64 * 1024);
    const expected = await labelsOf(model, files);
    for (const [i, file] of files.entries()) {
      const r = await spawnKconv(['predict', '-', '--weights', p('m.json')], { input: readFileSync(file) });
      expect(r.err).toBe('');
      expect(r.out).toBe(`file,label\nstdin,${expected[i]}\n`);
      expect(r.code).toBe(0);
    }
    // show and evaluate read it too; evaluate needs labels, which a lone picture has not.
    const shown = await spawnKconv(['show', '-', '--weights', p('m.json')], { input: readFileSync(p('one.png')) });
    expect(shown.code).toBe(0);
    expect(shown.out).toContain(`predicted ${expected[0]}`);
    const evaluated = await spawnKconv(['evaluate', '-', '--weights', p('m.json')], { input: readFileSync(p('one.png')) });
    expect(evaluated.code).toBe(1);
    expect(evaluated.err).toMatch(/^kconv: stdin: a picture alone has no label: for labels, give a folder whose subfolders 0\/ … 9\/ hold each digit's images\n$/);
  });

  it('a PNG through a FIFO is read once, as a picture', async () => {
    const fifo = p('pipe.png.fifo');
    spawnSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', `cat "${p('one.png')}" > "${fifo}"`]);
    const written = once(writer, 'close'); // listened to now: cat may be done before kconv is
    // Spawned: a FIFO's open() waits on a thread of the pool, which other test files in this worker may have used up.
    const r = await spawnKconv(['predict', fifo, '--weights', p('m.json')]);
    expect((await written)[0]).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toBe(`file,label\n${fifo},${(await labelsOf(model, [p('one.png')]))[0]}\n`);
  });
});

describe('a blank picture is not given a label', () => {
  it('from standard input: one line, nothing on stdout, exit 1', async () => {
    const stdin = await spawnKconv(['predict', '-', '--weights', p('m.json')], { input: readFileSync(p('blank.png')) });
    expect([stdin.code, stdin.out, stdin.err]).toEqual([1, '', 'kconv: stdin: no ink found (an empty or uniform picture): nothing to classify\n']);
  });
});

describe('Ctrl-C while training: the bar is cleared first, the hint is the command as typed, a resumed run says where', () => {
  it('a spawned train on a forced "terminal" (KCONV_PROGRESS=1): SIGINT clears the bar, then the messages, whole', async () => {
    const big = writeDigits(dir, 'sig.csv', 3000, 2);
    const args = ['train', relative(ROOT, big), '--arch', 'conv8k5,relu,pool2,dense10', '--batch-size', '4', '--epochs', '50', '--threads', '1', '--no-val'];
    const child = spawn(process.execPath, ['bin/kconv.js', ...args, '--out', relative(ROOT, p('sig.json'))], { cwd: ROOT, env: { ...process.env, KCONV_PROGRESS: '1' } });
    let err = '';
    let sent = false;
    child.stderr.on('data', (d) => {
      err += d;
      // Once the bar has drawn a few frames (on a quiet machine an epoch can be over in less than three).
      if (!sent && (err.match(/epoch \d+\/50 +\d+\/750/g) ?? []).length >= 3) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    const at = err.indexOf('kconv: SIGINT');
    expect(at).toBeGreaterThan(0);
    const before = err.slice(0, at);
    const after = err.slice(at);
    // The bar was drawn, then cleared (cursor back to where it started, line erased) before the message…
    expect(before).toMatch(/epoch \d+\/50 /);
    expect(before).toMatch(/\x1b8\r?\x1b\[2K\r?\n?$|\x1b8(\x1b\[\d*G)?\x1b\[2K\n?$/);
    // …and nothing of it comes after: no frame, no cursor restore that would move above the message.
    expect(after).not.toMatch(/\x1b[78]|epoch \d+\/50 +\d|\d+\/750/);
    const hint = `kconv: stopped; checkpoint saved to ${relative(ROOT, p('sig.json'))}. Resume with: node bin/kconv.js train ${relative(ROOT, big)} --resume ${relative(ROOT, p('sig.json'))}\n`;
    expect(after).toContain(`\n${hint}`);
    // The hint works as printed, and the resumed run says where it picks up.
    const command = hint.slice(hint.indexOf('Resume with: ') + 13).trim().split(' ').slice(1);
    // Where it stopped depends on when the signal landed (on a quiet machine a fast epoch may be over).
    // 50 epochs so that the signal lands long before the end; the resumed run finishes only the
    // epoch it stopped in (and one more, should it have stopped right at an epoch's end).
    const stoppedIn = Number([...before.matchAll(/epoch (\d+)\/50 /g)].at(-1)![1]);
    const resumed = spawnSync(process.execPath, [...command, '--epochs', String(stoppedIn + 1)], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, KCONV_PROGRESS: '0' } });
    const at2 = /^kconv: resuming at epoch (\d+), batch (\d+) \((\d+) epochs? done(?: and (\d+) batch(?:es)? of epoch (\d+))?\), saving to \S+sig\.json\n/m.exec(resumed.stderr);
    expect(at2, resumed.stderr).not.toBeNull();
    const [, epoch, next, epochsDone, batchesDone, ofEpoch] = at2!;
    expect(Number(epoch)).toBe(Number(epochsDone) + 1);
    expect(Number(next)).toBe(Number(batchesDone ?? 0) + 1);
    if (ofEpoch !== undefined) expect(ofEpoch).toBe(epoch);
    expect(resumed.status).toBe(0);
  }, 60_000);
});

describe('progress on a terminal only', () => {
  it('predict --tta on a forced terminal shows a bar on stderr; on a pipe, stderr stays empty', async () => {
    const data = writeDigits(dir, 'many.csv', 4000, 3, 'id');
    const args = ['predict', data, '--weights', p('m.json'), '--tta', '8', '--threads', '1'];
    const shown = await spawnKconv(args, { env: { KCONV_PROGRESS: '1' } });
    expect(shown.code).toBe(0);
    expect(shown.err).toMatch(/classifying \|[█░]+\| \d+\/32000 image views \(4000 images × 8\) · \d:\d\d · ETA/);
    const piped = await spawnKconv(args, { env: { KCONV_PROGRESS: '' } });
    expect(piped.code).toBe(0);
    expect(piped.err).toBe('');
    expect(piped.out).toBe(shown.out);
  }, 60_000);

  // script(1) is Debian's essential bsdutils, on every machine this runs on: no skip.
  it('on a real pseudo-terminal (script(1)) predict --tta draws a bar, without KCONV_PROGRESS', async () => {
    const data = p('many.csv');
    const cmd = `${process.execPath} ${KCONV} predict ${data} --weights ${p('m.json')} --tta 8 --threads 1 --out ${p('tty-out.csv')}`;
    const r = spawnSync('script', ['-qfec', cmd, '/dev/null'], { encoding: 'utf8', env: { ...process.env, KCONV_PROGRESS: '', TERM: 'xterm' } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/classifying \|[█░]+\| \d+\/32000 image views/);
  }, 60_000);
});

describe('the words of common mistakes', () => {
  it('download from a source that cannot be reached: one line that mentions --mirror, no URLs (--verbose lists them)', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const r = await kconv(['download', '--dir', p('dl'), '--mirror', `http://127.0.0.1:${port}/k/`]);
    expect(r.code).toBe(1);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('kconv:'));
    expect(errors).toEqual([`kconv: none of the 6 files could be fetched from 127.0.0.1:${port}: connection refused; run kconv download again once it can be reached, or fetch from elsewhere with --mirror <URL or folder> (--verbose lists each file's URL)`]);
    const verbose = await kconv(['download', '--dir', p('dl'), '--mirror', `http://127.0.0.1:${port}/k/`, '--verbose']);
    expect(verbose.stderr.split('\n').filter((l) => l.startsWith(`kconv: X_kannada_MNIST_train-idx3-ubyte.gz: connection refused (from http://127.0.0.1:${port}/k/X_kannada_MNIST_train`))).toHaveLength(1);
  });

  it('npm install says "building kconv…" (the dependencies script, shown by the project\'s .npmrc) before it builds', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.dependencies).toMatch(/&& npm run build$/);
    // A project with kconv's .npmrc and dependencies script, whose build is a stub: npm install shows the line.
    const proj = p('npm-project');
    mkdirSync(join(proj, 'dep'), { recursive: true });
    writeFileSync(join(proj, 'dep', 'package.json'), '{"name":"dep","version":"1.0.0"}');
    writeFileSync(join(proj, '.npmrc'), readFileSync(join(ROOT, '.npmrc')));
    writeFileSync(join(proj, 'package.json'), JSON.stringify({
      name: 'p', version: '1.0.0', dependencies: { dep: 'file:./dep' },
      scripts: { dependencies: pkg.scripts.dependencies, build: 'node -e "console.error(\'BUILT\')"' },
    }));
    const r = spawnSync('npm', ['install', '--offline', '--no-audit', '--no-fund'], { cwd: proj, encoding: 'utf8', env: { ...process.env, npm_config_foreground_scripts: '' } });
    expect(r.status).toBe(0);
    const text = r.stdout + r.stderr;
    expect(text).toMatch(/building kconv…/);
    expect(text.indexOf('building kconv…')).toBeLessThan(text.indexOf('BUILT'));
  }, 60_000);
});

describe('serve exits when the process that started it dies (npx does not pass SIGTERM on)', () => {
  it('a parent that spawned kconv serve is SIGKILLed: serve exits and its port closes', async () => {
    const parentCode = `
      const { spawn } = require('node:child_process');
      const child = spawn(process.execPath, [${JSON.stringify(KCONV)}, 'serve', '--weights', ${JSON.stringify(p('m.json'))}, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr.on('data', (d) => process.stdout.write(String(child.pid) + ' ' + d));
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['-e', parentCode], { stdio: ['ignore', 'pipe', 'inherit'] });
    let said = '';
    const match = await new Promise<RegExpExecArray>((resolve, reject) => {
      parent.stdout.on('data', (d) => {
        said += d;
        const m = /^(\d+) kconv serve: .* on http:\/\/127\.0\.0\.1:(\d+)\//m.exec(said);
        if (m) resolve(m);
      });
      parent.on('exit', () => reject(new Error(`parent exited: ${said}`)));
    });
    const [pid, port] = [Number(match[1]), Number(match[2])];
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    parent.kill('SIGKILL');
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    // serve looks for its parent every second (src/cli/parent-watch.ts). The deadline only
    // keeps a serve that never exits from outliving the test (it is killed, and the test
    // fails); how soon serve exits is not measured.
    const deadline = Date.now() + 20_000;
    while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const gone = !alive();
    if (!gone) process.kill(pid, 'SIGKILL');
    expect(gone).toBe(true);
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.on('connect', () => (socket.destroy(), resolve(false)));
      socket.on('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  }, 30_000);
});
