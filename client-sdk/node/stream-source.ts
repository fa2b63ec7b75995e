// Readable streams for tus-js-client: read forward once, keeping only the slice being sent (so a
// retry can send it again), skipping what the server already has when an upload is resumed, and
// noticing the end of a stream of unknown length in time to declare it.
import type { Readable } from 'node:stream';
import { defaultOptions, type FileReader, type FileSource, type SliceResult } from 'tus-js-client';

/** Marks a Readable for the reader below (tus-js-client's own would not resume it). */
export class StreamInput {
  constructor(readonly stream: Readable) {}
}

export class StreamSource implements FileSource {
  /** Unknown: uploads of streams pass their size (or a deferred length) themselves. */
  readonly size = 0;
  private readonly chunks: AsyncIterator<unknown>;
  /** Stream bytes from `start` on, as read. */
  private pieces: Buffer[] = [];
  private start = 0;
  private buffered = 0;
  private ended = false;

  constructor(private readonly stream: Readable) {
    this.chunks = stream[Symbol.asyncIterator]();
  }

  async slice(start: number, end: number): Promise<SliceResult> {
    if (start < this.start) throw new Error(`a stream cannot be read backwards (at ${this.start}, asked for ${start})`);
    // one byte past `end`, or the end of the stream: then `done` is known
    while (!this.ended && this.start + this.buffered <= end) {
      await this.pull();
      this.dropBefore(start);
    }
    this.dropBefore(start);
    const whole = Buffer.concat(this.pieces, this.buffered);
    this.pieces = [whole];
    const value = whole.subarray(0, Math.max(0, Math.min(end, this.start + this.buffered) - start));
    const done = this.ended && start + value.length >= this.start + this.buffered;
    return { value: Object.assign(value, { size: value.length }), done };
  }

  close(): void {
    this.stream.destroy();
  }

  private async pull(): Promise<void> {
    const next = await this.chunks.next();
    if (next.done) {
      this.ended = true;
      return;
    }
    const piece = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as string);
    this.pieces.push(piece);
    this.buffered += piece.length;
  }

  /** Forgets bytes before `offset` (those the server has, or has acknowledged). */
  private dropBefore(offset: number): void {
    while (this.start < offset && this.pieces.length > 0) {
      const first = this.pieces[0] as Buffer;
      const skip = Math.min(first.length, offset - this.start);
      if (skip === first.length) this.pieces.shift();
      else this.pieces[0] = first.subarray(skip);
      this.start += skip;
      this.buffered -= skip;
    }
  }
}

/** tus-js-client's reader for Node, with streams read by StreamSource. */
export const nodeFileReader: FileReader = {
  openFile(input: unknown, chunkSize: number): Promise<FileSource> {
    if (input instanceof StreamInput) return Promise.resolve(new StreamSource(input.stream));
    const reader = defaultOptions.fileReader;
    return reader.openFile(input, chunkSize);
  },
};
