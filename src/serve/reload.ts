import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { loadModel, type ModelFile } from '../model/weights-file.js';

/**
 * `kconv serve` follows its weights file: when it changes, the new file is read and
 * validated whole (loadModel: every field, shape and number) and only then served; a file
 * that does not validate (half written by a tool that writes in place, garbage) is logged
 * in one line and the model being served stays.
 *
 * The folder is watched, not the file: an atomic replace (kconv train's temp + rename)
 * puts a new inode under the name, and a watch on the old inode would go quiet. Events
 * are debounced, so that a burst (write, write, rename) is read once, after it settles.
 */
export const RELOAD_DEBOUNCE_MS = 200;

export interface ModelWatch {
  close(): void;
}

export function watchModel(file: string, opts: { onModel: (model: ModelFile) => void; log: (line: string) => void; debounceMs?: number }): ModelWatch {
  const name = path.basename(file);
  const shown = name;
  let timer: NodeJS.Timeout | null = null;
  let running = false;
  let again = false;
  let closed = false;
  let last = '';

  async function check(): Promise<void> {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      const st = await stat(file).catch(() => null);
      // Gone for now (between unlink and rename, or deleted): keep serving; a new file brings an event.
      if (!st) return;
      const id = `${st.ino}:${st.size}:${st.mtimeMs}`;
      if (id === last) return;
      let model: ModelFile;
      try {
        model = await loadModel(file);
      } catch (error) {
        last = id;
        if (!closed) opts.log(`kconv serve: not reloading ${shown}: ${(error as Error).message.replace(/\s+/g, ' ')}; still serving the previous model\n`);
        return;
      }
      last = id;
      if (closed) return;
      opts.onModel(model);
      const n = model.net.params().reduce((sum, p) => sum + p.value.length, 0);
      const epochs = model.training?.history.length;
      opts.log(`kconv serve: reloaded ${shown}: ${model.arch}, ${n.toLocaleString('en')} parameters${epochs ? `, ${epochs} epochs` : ''}\n`);
    } finally {
      running = false;
      if (again && !closed) {
        again = false;
        schedule();
      }
    }
  }

  function schedule(): void {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void check();
    }, opts.debounceMs ?? RELOAD_DEBOUNCE_MS);
  }

  // What is being served now: changes are measured against it.
  void stat(file).then((st) => {
    if (last === '') last = `${st.ino}:${st.size}:${st.mtimeMs}`;
  }, () => undefined);

  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(path.dirname(file), { persistent: false }, (_event, changed) => {
      if (changed === null || changed === name) schedule();
    });
    watcher.on('error', () => undefined);
  } catch (error) {
    opts.log(`kconv serve: cannot watch ${shown} for changes (${(error as Error).message}); restart kconv serve to load a new model\n`);
  }
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      watcher?.close();
    },
  };
}
