// What the runner asks of one client process (passed as JSON in argv) and what the client prints
// back (one JSON line on stdout). Times are milliseconds; `at` values are epoch milliseconds with
// sub-millisecond precision (performance.timeOrigin + performance.now()), comparable across
// processes on one machine.

interface JobBase {
  /** tus creation URL, e.g. http://127.0.0.1:1080/files */
  endpoint: string;
  /**
   * HS256 secret the client signs its Bearer tokens with (sent to every server; only ours checks
   * them). Each upload gets its own owner, `<owner>-<n>`, as if from many users, so that per-owner
   * limits (uploads per hour, unfinished sessions) are not what is measured.
   */
  secret: string;
  owner: string;
  /** Expect `Upload-Asset-Id` on the response that completes an upload (ours). */
  expectAsset: boolean;
}

/** W1-W3: `count` concurrent tus-js-client uploads of `size` bytes each. */
export interface UploadJob extends JobBase {
  kind: 'upload';
  /** Input file; upload i sends bytes [i*size, (i+1)*size) of it. */
  file: string;
  size: number;
  count: number;
  /** null: tus-js-client's default, one PATCH for the whole file (chunkSize Infinity). */
  chunkSize: number | null;
}

export interface UploadResult {
  kind: 'upload';
  startedAt: number;
  endedAt: number;
  /** Time of each upload from start() to onSuccess. */
  durations: number[];
  bytes: number;
  errors: string[];
}

/** W4: a HEAD and a POST every `intervalMs` (open loop), until stdin closes. */
export interface ProbeJob extends JobBase {
  kind: 'probe';
  intervalMs: number;
  /** Per method; beyond it a probe is skipped (and counted) rather than queued. */
  maxInFlight: number;
}

export interface ProbeSample {
  method: 'HEAD' | 'POST';
  at: number;
  ms: number;
  status: number;
}

export interface ProbeResult {
  kind: 'probe';
  samples: ProbeSample[];
  /** Probes not sent because 2 x maxInFlight were still unanswered. */
  skipped: number;
  errors: string[];
}

/** W5: for each size, an upload whose last byte comes alone, after `baseline` lone bytes. */
export interface FinaliseJob extends JobBase {
  kind: 'finalise';
  file: string;
  sizes: number[];
  /** Uploads per size (the estimate is their median). */
  repeats: number[];
  baseline: number;
}

export interface FinaliseMeasurement {
  size: number;
  /** Last path segment of the upload URL. */
  uploadId: string;
  /** Times of the 1-byte PATCHes that do not complete the upload. */
  baselineMs: number[];
  /** Time of the 1-byte PATCH that completes it. */
  finalMs: number;
  /** finalMs minus the median of baselineMs. */
  finaliseMs: number;
}

export interface FinaliseResult {
  kind: 'finalise';
  measurements: FinaliseMeasurement[];
  errors: string[];
}

/**
 * W6: `count` uploads of `size` bytes at once from `users` owners, in `chunkSize` PATCHes, while a
 * worker thread of the client times HEADs on those uploads, round robin, every `headIntervalMs`.
 */
export interface LoadJob extends JobBase {
  kind: 'load';
  file: string;
  size: number;
  count: number;
  users: number;
  chunkSize: number;
  headIntervalMs: number;
}

export interface LoadResult extends Omit<UploadResult, 'kind'> {
  kind: 'load';
  /** HEAD latencies (ms) sent between the first start() and the last onSuccess. */
  heads: number[];
  /** OPTIONS latencies (ms) sent beside the HEADs: the floor any request meets under the load. */
  options: number[];
  headErrors: string[];
}

export type Job = UploadJob | ProbeJob | FinaliseJob | LoadJob;
export type JobResult = UploadResult | ProbeResult | FinaliseResult | LoadResult;
