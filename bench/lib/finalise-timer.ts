// Preloaded into our server's process by the benchmark (`node --import tsx --import <this>`), before
// server/main.ts runs. It wraps the store method the tus finish hook calls (ChunkStore#finish, or
// #finalize where there is no finish) and writes one JSON line per call to stdout, next to the
// server's own log: how long it took from the moment the last byte was durable and recorded (the
// store's write() has returned) until the asset row was committed. The server's code is unchanged;
// this only adds two clock reads and a log line per finished upload.
import { performance } from 'node:perf_hooks';
import { ChunkStore } from '../../store/chunk-store.js';

type Finish = (this: ChunkStore, id: string) => Promise<unknown>;

const proto = ChunkStore.prototype as unknown as Record<string, unknown>;
const method = ['finish', 'finalize'].find((name) => typeof proto[name] === 'function');

if (method) {
  const original = proto[method] as Finish;
  const timed: Finish = async function (this: ChunkStore, id: string) {
    const started = performance.now();
    let ok = false;
    try {
      const result = await original.call(this, id);
      ok = true;
      return result;
    } finally {
      const ms = performance.now() - started;
      process.stdout.write(`${JSON.stringify({ msg: 'bench finalise', method, upload_id: id, ok, ms })}\n`);
    }
  };
  proto[method] = timed;
} else {
  process.stdout.write(`${JSON.stringify({ msg: 'bench finalise timer not installed: no finish/finalize' })}\n`);
}
