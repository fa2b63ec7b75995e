// Chunk arithmetic: chunk n (1-based) covers bytes [(n-1)C, nC) of an upload.
export const MiB = 1024 * 1024;
export const MIN_CHUNK_SIZE = 5 * MiB;
export const MAX_CHUNK_SIZE = 20 * MiB;

export function clampChunkSize(size: number): number {
  return Math.min(MAX_CHUNK_SIZE, Math.max(MIN_CHUNK_SIZE, Math.floor(size)));
}

export function totalChunks(length: number, chunkSize: number): number {
  return Math.ceil(length / chunkSize);
}

export function chunkStart(chunkNumber: number, chunkSize: number): number {
  return (chunkNumber - 1) * chunkSize;
}

/** Byte length of chunk n of an upload of `length` bytes. */
export function chunkLength(chunkNumber: number, chunkSize: number, length: number): number {
  const start = chunkStart(chunkNumber, chunkSize);
  return Math.max(0, Math.min(chunkSize, length - start));
}

/** Chunk numbers 1..total missing from `present`. */
export function missingChunks(total: number, present: Readonly<Record<string, string>>): number[] {
  const missing: number[] = [];
  for (let n = 1; n <= total; n++) if (!(String(n) in present)) missing.push(n);
  return missing;
}
