// Gives memory back after a burst of uploads. Under load the process grows: V8 enlarges its heap,
// dead socket buffers wait for the collector, the write-block pool fills up. V8 shrinks lazily, so
// an idle server would keep its peak for a long time. Once no upload has been written to for a
// while, this empties the block pool and runs one full collection, so the heap shrinks and the
// buffers go back to the allocator.
import v8 from 'node:v8';
import vm from 'node:vm';
import type { ChunkStore } from '../store/chunk-store.js';
import type { Logger } from './logger.js';

export const IDLE_RELEASE_MS = 10_000;

let collect: (() => void) | undefined;

/** A full garbage collection; the flag exposes `gc` to contexts made from now on. */
function fullCollection(): void {
  if (!collect) {
    v8.setFlagsFromString('--expose-gc');
    collect = vm.runInNewContext('gc') as () => void;
  }
  collect();
}

/** Starts watching; returns the function that stops it. */
export function releaseMemoryWhenIdle(store: ChunkStore, log: Logger, idleMs = IDLE_RELEASE_MS): () => void {
  let seen = store.writesStarted;
  let quietSince = Date.now();
  let released = true;
  const timer = setInterval(
    () => {
      const started = store.writesStarted;
      if (started !== seen || store.writesInProgress > 0) {
        seen = started;
        quietSince = Date.now();
        released = false;
        return;
      }
      if (released || Date.now() - quietSince < idleMs) return;
      released = true;
      const before = process.memoryUsage().rss;
      store.releaseBuffers();
      fullCollection();
      log.debug({ rss_before: before, rss_after: process.memoryUsage().rss }, 'idle: memory released');
    },
    Math.max(100, Math.floor(idleMs / 4)),
  );
  timer.unref();
  return () => clearInterval(timer);
}
