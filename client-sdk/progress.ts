// Upload progress as callers see it: bytes, percent, and a speed and ETA over a sliding window, so
// a resumed upload does not count the bytes it skipped as speed.

export interface Progress {
  /** Bytes the server has or is receiving, counting those sent before a resume. */
  bytesSent: number;
  /** The upload's length; null while it is not known (a stream of unknown length). */
  bytesTotal: number | null;
  /** 0-100, or null while the length is not known. */
  percent: number | null;
  /** Over the last few seconds; 0 until there are two samples. */
  bytesPerSecond: number;
  /** Seconds left at the current speed; null when not known. */
  eta: number | null;
}

interface Sample {
  at: number;
  bytes: number;
}

const WINDOW_MS = 5_000;

export class ProgressMeter {
  private samples: Sample[] = [];
  private last: Progress | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  update(bytesSent: number, bytesTotal: number | null): Progress {
    const at = this.now();
    const previous = this.samples.at(-1);
    // a retry or a resume may move backwards: start measuring again from there
    if (previous && bytesSent < previous.bytes) this.samples = [];
    this.samples.push({ at, bytes: bytesSent });
    while (this.samples.length > 2 && at - (this.samples[0]?.at ?? at) > WINDOW_MS) this.samples.shift();
    const first = this.samples[0] ?? { at, bytes: bytesSent };
    const elapsed = (at - first.at) / 1000;
    const bytesPerSecond = elapsed > 0 ? (bytesSent - first.bytes) / elapsed : 0;
    const known = bytesTotal !== null && bytesTotal >= 0;
    const percent = known ? (bytesTotal === 0 ? 100 : Math.min(100, (bytesSent / bytesTotal) * 100)) : null;
    const eta = known && bytesPerSecond > 0 ? Math.max(0, (bytesTotal - bytesSent) / bytesPerSecond) : null;
    this.last = { bytesSent, bytesTotal, percent, bytesPerSecond, eta };
    return this.last;
  }

  /** The progress of a finished upload: everything sent. */
  complete(size: number): Progress {
    const speed = this.last?.bytesPerSecond ?? 0;
    this.last = { bytesSent: size, bytesTotal: size, percent: 100, bytesPerSecond: speed, eta: 0 };
    return this.last;
  }

  get latest(): Progress | undefined {
    return this.last;
  }
}
