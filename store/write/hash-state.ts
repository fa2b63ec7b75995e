// Running sha256 state of uploads, so each byte is hashed once while it arrives, across any number
// of PATCH requests. The hashing itself runs on a worker thread (hash-worker.ts); this side keeps
// which uploads have a valid state at which offset. Node cannot serialise a hash, so after a
// restart (or on another instance) the state is rebuilt from the bytes on disk instead.
import { createHash, type Hash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ByteSource } from '../storage/chunk-storage.js';
import type { HashReply, HashRequest } from './hash-worker.js';

/** Where an upload's hash state stands: valid up to `offset`; `file` when it covers every byte. */
interface StateInfo {
  offset: number;
  file: boolean;
}

// Below this offset a lost whole-file hash is rebuilt while resuming; above it, at finalising.
const REHASH_ON_RESUME_LIMIT = 64 * 1024 * 1024;

export class HashStates {
  private readonly states = new Map<string, StateInfo>();
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: string | null | undefined): void; reject(e: Error): void }>();

  constructor(private readonly maxEntries = 10_000) {}

  /**
   * A hasher for an upload at `offset`: this process's running state when it is exactly there,
   * else one rebuilt from the stored bytes (the current chunk always; the whole file when cheap and
   * `source` holds it from offset 0, which an object store's spool of one chunk does not).
   */
  async hasherAt(id: string, source: ByteSource, offset: number, chunkSize: number): Promise<UploadHasher> {
    const known = this.states.get(id);
    this.states.delete(id);
    if (known?.offset === offset) return new UploadHasher(this, id, offset, known.file);
    const withFile = offset <= REHASH_ON_RESUME_LIMIT && source.from === 0;
    const chunkStart = Math.floor(offset / chunkSize) * chunkSize - source.from;
    const { path } = source;
    if (offset === 0) await this.call({ op: 'reset', key: id, withFile: true });
    else await this.call({ op: 'prime', key: id, path, chunkStart, offset: offset - source.from, withFile });
    return new UploadHasher(this, id, offset, withFile);
  }

  /** Keeps a hasher's state for the next request on the same upload. */
  keep(hasher: UploadHasher): void {
    this.states.delete(hasher.id);
    this.states.set(hasher.id, { offset: hasher.offset, file: hasher.hasFile });
    if (this.states.size > this.maxEntries) {
      const oldest = this.states.keys().next().value;
      if (oldest !== undefined) this.forget(oldest);
    }
  }

  /** sha256 of the first `length` bytes from the running state, when it covers exactly them. */
  async runningDigest(id: string, length: number): Promise<string | undefined> {
    const known = this.states.get(id);
    const running = known?.file && known.offset === length ? await this.call({ op: 'file', key: id }) : null;
    return running ?? undefined;
  }

  async hashFile(file: string, start: number, end: number): Promise<string> {
    const digest = await this.call({ op: 'hashFile', key: `file:${file}`, path: file, start, end });
    if (typeof digest !== 'string') throw new Error(`hashing ${file} returned nothing`);
    return digest;
  }

  /** Has the hashing thread run a full collection (when idle: frees the write blocks it saw). */
  async collect(): Promise<void> {
    if (this.worker) await this.call({ op: 'collect', key: 'collect' });
  }

  forget(id: string): void {
    if (!this.states.delete(id) && !this.worker) return;
    void this.call({ op: 'forget', key: id }).catch(() => {});
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.states.clear();
    await worker?.terminate();
  }

  /** @internal */
  call(request: HashRequest): Promise<string | null | undefined> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, request });
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = spawnHashWorker();
    worker.unref();
    worker.on('message', ({ id, value, error }: HashReply) => {
      const waiter = this.pending.get(id);
      this.pending.delete(id);
      if (error === undefined) waiter?.resolve(value);
      else waiter?.reject(new Error(error));
    });
    const fail = (error: Error) => {
      // states lived in the worker: every upload rebuilds its own from disk next time
      if (this.worker === worker) this.worker = undefined;
      this.states.clear();
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`hash worker exited with ${code}`)));
    this.worker = worker;
    return worker;
  }
}

/**
 * The worker runs compiled alongside this module, or from source like the rest of the server; Node
 * 20 does not apply `--import tsx` inside worker threads, so a TypeScript worker registers it itself.
 */
function spawnHashWorker(): Worker {
  const self = fileURLToPath(import.meta.url);
  const entry = path.join(path.dirname(self), `hash-worker${path.extname(self)}`);
  if (path.extname(self) !== '.ts') return new Worker(entry);
  const url = JSON.stringify(pathToFileURL(entry).href);
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${url}); });`, {
    eval: true,
  });
}

/** One upload's hashes during one write: bytes go in in order; chunk digests come out. */
export class UploadHasher {
  constructor(
    private readonly states: HashStates,
    readonly id: string,
    public offset: number,
    readonly hasFile: boolean,
  ) {}

  /**
   * Hashes `block` (the next bytes of the upload) on the hashing thread. A block in shared memory
   * (the writers' pooled blocks) is read there in place: leave its bytes alone until the returned
   * promise settles. Any other block is copied into the message.
   */
  update(block: Buffer): Promise<unknown> {
    this.offset += block.length;
    const data = new Uint8Array(block.buffer, block.byteOffset, block.byteLength);
    return this.states.call({ op: 'update', key: this.id, data });
  }

  /** sha256 of the chunk completed by the bytes so far; the next bytes start a new chunk. */
  async chunkDigest(): Promise<string> {
    const digest = await this.states.call({ op: 'chunk', key: this.id });
    if (typeof digest !== 'string') throw new Error(`no chunk digest for ${this.id}`);
    return digest;
  }
}

export function sha256(): Hash {
  return createHash('sha256');
}
