// Gives memory back after a burst of uploads. Under load the process grows: V8 enlarges its heap,
// dead socket buffers wait for the collector, the write-block pool fills up. V8 shrinks lazily, so
// an idle server would keep its peak for a long time. Once no upload has been written to for a
// while, this empties the block pool, runs full collections so the heap shrinks and the buffers go
// back to the allocator, and has the allocator hand its free pages to the kernel; once more an
// idle period later.
import { builtinBehindFlag } from '../../store/v8-builtin.js';
import type { UploadWriter } from '../../store/write/upload-writer.js';
import type { HeapTrim } from './heap-trim.js';
import type { Logger } from './logger.js';

export const IDLE_RELEASE_MS = 10_000;

let collect: (() => void) | undefined;

/**
 * Two full garbage collections: the first frees the dead objects, but V8 keeps the pages it
 * emptied pooled until the next one, which an idle server may not run for a long time (measured
 * here: a heap grown to 190 MB came back to 38 MB after one collection, with the RSS unchanged;
 * the second took the RSS from 245 to 90 MB).
 */
export function fullCollection(): void {
  collect ??= builtinBehindFlag('--expose-gc', 'gc') as () => void;
  collect();
  collect();
}

export interface IdleReleaseOptions {
  idleMs?: number;
  /** The C allocator's trim (see heap-trim.ts), where the platform has one. */
  trimHeap?: HeapTrim;
  /** Told once per idle period, after the second release. */
  onRelease?: () => void;
}

/** Starts watching; returns the function that stops it. */
export function releaseMemoryWhenIdle(store: UploadWriter, log: Logger, options: IdleReleaseOptions = {}): () => void {
  const { idleMs = IDLE_RELEASE_MS, trimHeap, onRelease } = options;
  let seen = store.writesStarted;
  let quietSince = Date.now();
  // 0: busy since the last release; 1: released once; 2: released twice, nothing more to give
  let stage = 2;
  const release = () => {
    const before = process.memoryUsage().rss;
    store.releaseBuffers();
    fullCollection();
    trimHeap?.();
    log.debug({ stage, rss_before: before, rss_after: process.memoryUsage().rss }, 'idle: memory released');
  };
  const timer = setInterval(
    () => {
      const started = store.writesStarted;
      if (started !== seen || store.writesInProgress > 0) {
        seen = started;
        quietSince = Date.now();
        stage = 0;
        return;
      }
      const quietFor = Date.now() - quietSince;
      if (stage === 0 && quietFor >= idleMs) {
        stage = 1;
        release();
      } else if (stage === 1 && quietFor >= 2 * idleMs) {
        // V8 shrinks its young generation only in a collection that sees a low allocation rate
        // since the one before, which the first release, judged against the tail of the load,
        // often does not; a second one an idle period later does (measured here: 30-40 MB)
        stage = 2;
        release();
        onRelease?.();
      }
    },
    Math.max(100, Math.floor(idleMs / 4)),
  );
  timer.unref();
  return () => clearInterval(timer);
}
