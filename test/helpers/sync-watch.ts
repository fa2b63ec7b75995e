// A ChunkStorage wrapped to note, per upload, the offset up to which written bytes have been
// synced: what the durability-order tests compare every recorded offset and chunk against.
import type { ChunkSink, ChunkStorage } from '../../store/storage/chunk-storage.js';

/** `inner`, noting per upload the offset up to which written bytes have been synced. */
export function watchSyncs(inner: ChunkStorage, synced: Map<string, number>): ChunkStorage {
  const watched = Object.create(inner) as ChunkStorage;
  watched.openSink = async (id, durableOffset, shape) =>
    watchSink(await inner.openSink(id, durableOffset, shape), id, durableOffset, synced);
  const whole = inner.openWholeChunk;
  if (whole) {
    watched.openWholeChunk = async (id, durableOffset, shape, n) =>
      watchSink(await whole.call(inner, id, durableOffset, shape, n), id, durableOffset, synced);
  }
  return watched;
}

function watchSink(sink: ChunkSink, id: string, durableOffset: number, synced: Map<string, number>): ChunkSink {
  let written = durableOffset;
  return {
    write: async (bytes, at) => {
      await sink.write(bytes, at);
      written = Math.max(written, at + bytes.reduce((n, b) => n + b.length, 0));
    },
    sync: async () => {
      const upTo = written;
      await sink.sync();
      synced.set(id, Math.max(synced.get(id) ?? 0, upTo));
    },
    close: () => sink.close(),
  };
}
