// The hashing thread: keeps each upload's running sha256 states (its current chunk, and the whole
// file when every byte was seen) and hashes bytes the main thread hands over, so receiving, writing
// and hashing use both cores. Messages for one upload are handled strictly in order.
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import { builtinBehindFlag } from '../v8-builtin.js';

export type HashRequest =
  | { op: 'reset'; key: string; withFile: boolean }
  | { op: 'prime'; key: string; path: string; chunkStart: number; offset: number; withFile: boolean }
  | { op: 'update'; key: string; data: Uint8Array }
  | { op: 'chunk'; key: string }
  | { op: 'file'; key: string }
  | { op: 'forget'; key: string }
  | { op: 'collect'; key: string }
  | { op: 'hashFile'; key: string; path: string; start: number; end: number };

export type HashReply = { id: number; value?: string | null; error?: string };

interface State {
  chunk: Hash;
  file: Hash | null;
}

const READ_BLOCK = 1024 * 1024;
const states = new Map<string, State>();
let collect: (() => void) | undefined;
const queues = new Map<string, Promise<unknown>>();

async function handle(request: HashRequest): Promise<string | null | undefined> {
  switch (request.op) {
    case 'reset':
      states.set(request.key, { chunk: createHash('sha256'), file: request.withFile ? createHash('sha256') : null });
      return undefined;
    case 'prime': {
      const state = { chunk: createHash('sha256'), file: request.withFile ? createHash('sha256') : null };
      if (state.file) await feed(request.path, 0, request.chunkStart, [state.file]);
      await feed(
        request.path,
        request.chunkStart,
        request.offset,
        state.file ? [state.file, state.chunk] : [state.chunk],
      );
      states.set(request.key, state);
      return undefined;
    }
    case 'update': {
      const state = stateOf(request.key);
      state.chunk.update(request.data);
      state.file?.update(request.data);
      return undefined;
    }
    case 'chunk': {
      const state = stateOf(request.key);
      const digest = state.chunk.digest('hex');
      state.chunk = createHash('sha256');
      return digest;
    }
    case 'file':
      return states.get(request.key)?.file?.copy().digest('hex') ?? null;
    case 'forget':
      states.delete(request.key);
      return undefined;
    case 'collect':
      // the blocks hashed here are shared memory: each message that carried one keeps it alive
      // until this thread's own collector runs, which an idle thread may not do for a long time
      collect ??= builtinBehindFlag('--expose-gc', 'gc') as () => void;
      collect();
      return undefined;
    case 'hashFile': {
      const hash = createHash('sha256');
      await feed(request.path, request.start, request.end, [hash]);
      return hash.digest('hex');
    }
  }
}

function stateOf(key: string): State {
  const state = states.get(key);
  if (!state) throw new Error(`no hash state for ${key}`);
  return state;
}

async function feed(path: string, start: number, end: number, hashes: Hash[]): Promise<void> {
  if (end <= start) return;
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(Math.min(READ_BLOCK, end - start));
    for (let position = start; position < end; ) {
      const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, end - position), position);
      if (bytesRead === 0) throw new Error(`${path} ends at ${position}, expected ${end}`);
      for (const hash of hashes) hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
  } finally {
    await file.close();
  }
}

parentPort?.on('message', ({ id, request }: { id: number; request: HashRequest }) => {
  const previous = queues.get(request.key) ?? Promise.resolve();
  const next = previous.then(() => handle(request));
  const settled = next.then(
    (value) => parentPort?.postMessage({ id, value } satisfies HashReply),
    (error: unknown) => parentPort?.postMessage({ id, error: String(error) } satisfies HashReply),
  );
  queues.set(request.key, settled);
  void settled.then(() => {
    if (queues.get(request.key) === settled) queues.delete(request.key);
  });
});
