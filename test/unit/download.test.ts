/**
 * `kconv download`'s checks that need no server: git blob ids, and the official ids in
 * the source. Downloads from an HTTP server started on 127.0.0.1 are in
 * test/cli/download.test.ts; the real files in test/real-data/download.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { gitBlobId, OFFICIAL_BLOB_IDS, OFFICIAL_FILES } from '../../src/download/index.js';

describe('git blob ids', () => {
  it('match git hash-object', () => {
    expect(gitBlobId(new Uint8Array(0))).toBe('e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
    expect(gitBlobId(Buffer.from('hello\n'))).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
  });

  it('the six official ids are in the source', () => {
    expect(Object.keys(OFFICIAL_BLOB_IDS).sort()).toEqual([...OFFICIAL_FILES].sort());
    expect(OFFICIAL_BLOB_IDS['X_kannada_MNIST_test-idx3-ubyte.gz']).toBe('1dc875a6b5278cf9504eda58ac28530bb65817e9');
    expect(OFFICIAL_BLOB_IDS['X_kannada_MNIST_train-idx3-ubyte.gz']).toBe('b588ed8355da1fc0dd0c2707947c132f7aa427c0');
  });
});
