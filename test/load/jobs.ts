// What the load driver asks of a worker process, and what a worker answers: one JSON job on argv,
// a `{"ready":true}` line once it has started, `go` on stdin to begin (`stop` ends an open-ended
// job), and one JSON result line at the end. Also the samples and quantiles both sides compute.

/** One timed request. */
export interface Sample {
  /** Request type as reported: POST, PATCH, HEAD, GET status, GET list, ... */
  type: string;
  /** Start, in ms since the epoch. */
  at: number;
  ms: number;
  status: number;
}

interface JobBase {
  baseUrl: string;
  tusUrl: string;
  token: string;
}

/** tus-js-client uploads of deterministic pseudo-random bytes, all at once. */
export interface UploadsJob extends JobBase {
  kind: 'uploads';
  owner: string;
  count: number;
  size: number;
  chunkSize: number;
  /** Distinguishes this worker's sources from every other's. */
  seed: string;
}

export interface UploadOutcome {
  index: number;
  uploadId: string;
  assetId: string | null;
  sha256: string;
  size: number;
  ms: number;
  error?: string;
}

export interface UploadsResult {
  kind: 'uploads';
  started: number;
  finished: number;
  uploads: UploadOutcome[];
  samples: Sample[];
}

/** Creates `count` empty tus uploads of `length` bytes, `concurrency` at a time. */
export interface CreateJob extends JobBase {
  kind: 'create';
  count: number;
  length: number;
  concurrency: number;
}

export interface CreateResult {
  kind: 'create';
  ids: string[];
  samples: Sample[];
}

/** Status, HEAD and listing requests over known sessions, at a given concurrency. */
export interface ProbeJob extends JobBase {
  kind: 'probe';
  ids: string[];
  /** Listing queries to cycle through, e.g. `limit=50&offset=100`. */
  lists: string[];
  requests: number;
  concurrency: number;
  label: string;
}

export interface ProbeResult {
  kind: 'probe';
  samples: Sample[];
}

/** PATCHes of `piece` bytes, one after the other, over uploads of `size`, until told to stop. */
export interface PatcherJob extends JobBase {
  kind: 'patcher';
  size: number;
  piece: number;
  seed: string;
}

export interface PatcherResult {
  kind: 'patcher';
  samples: Sample[];
  uploads: UploadOutcome[];
}

export type Job = UploadsJob | CreateJob | ProbeJob | PatcherJob;
export type JobResult = UploadsResult | CreateResult | ProbeResult | PatcherResult;

/** The q-quantile (0..1) of `values` by linear interpolation; NaN when there are none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const a = sorted[low] ?? 0;
  const b = sorted[Math.ceil(at)] ?? a;
  return a + (b - a) * (at - low);
}

export const MiB = 1024 * 1024;
