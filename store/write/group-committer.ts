// Group commit of upload progress. Each upload's writer hands over "the bytes of upload U up to
// offset X are written (and these chunks have these digests)"; the committer makes them durable
// (the upload's own sync, started at once, so the syncs of all uploads in flight run side by side)
// and records every synced upload's progress in ONE statement. While a statement runs, newly
// synced uploads gather for the next one, so under load many PATCHes share one database round
// trip instead of paying one each; a lone PATCH on an idle server commits straight away. A row
// never moves before its bytes are synced: the offset a PATCH answers and a HEAD reports never
// exceeds what survives a power cut.
import type { UploadSession } from '../../db/schema.js';
import type { ProgressEntry } from '../../db/session-types.js';

export interface CommitRequest {
  progress: ProgressEntry;
  /** Makes the upload's bytes up to `progress.offset` durable; they are all written already. */
  sync(): Promise<void>;
}

/** Records synced progress; returns the rows that moved (a session no longer receiving does not). */
export type RecordBatch = (entries: readonly ProgressEntry[]) => Promise<UploadSession[]>;

interface Waiting {
  progress: ProgressEntry;
  resolve(row: UploadSession | undefined): void;
  reject(error: unknown): void;
}

// Beyond this many uploads in one statement the rest wait for the next (keeps a statement short).
const MAX_BATCH = 512;

export class GroupCommitter {
  /** Synced, waiting for a statement. */
  private ready: Waiting[] = [];
  private recording = false;
  private batches = 0;
  private entries = 0;

  constructor(private readonly recordBatch: RecordBatch) {}

  /**
   * Syncs and records one upload's progress; resolves with its row as recorded, or undefined when
   * the session could not move (paused, cancelled or gone meanwhile).
   */
  commit(request: CommitRequest): Promise<UploadSession | undefined> {
    return new Promise((resolve, reject) => {
      request.sync().then(() => {
        this.ready.push({ progress: request.progress, resolve, reject });
        this.kick();
      }, reject);
    });
  }

  /** Statements run and progress entries recorded since start (how well commits are grouped). */
  get stats(): { batches: number; entries: number } {
    return { batches: this.batches, entries: this.entries };
  }

  private kick(): void {
    if (this.recording) return;
    this.recording = true;
    // let the syncs finishing in this same turn join the first statement
    setImmediate(() => void this.recordAll());
  }

  private async recordAll(): Promise<void> {
    try {
      while (this.ready.length > 0) await this.recordOne(this.takeBatch());
    } finally {
      this.recording = false;
    }
  }

  /** The next batch: each upload at most once (a later entry of the same upload waits its turn). */
  private takeBatch(): Waiting[] {
    const seen = new Set<string>();
    const batch: Waiting[] = [];
    const rest: Waiting[] = [];
    for (const waiting of this.ready) {
      const { id } = waiting.progress;
      if (seen.has(id) || batch.length >= MAX_BATCH) rest.push(waiting);
      else {
        seen.add(id);
        batch.push(waiting);
      }
    }
    this.ready = rest;
    return batch;
  }

  private async recordOne(batch: Waiting[]): Promise<void> {
    let rows: UploadSession[];
    try {
      rows = await this.recordBatch(batch.map((w) => w.progress));
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    this.batches++;
    this.entries += batch.length;
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const waiting of batch) waiting.resolve(byId.get(waiting.progress.id));
  }
}
