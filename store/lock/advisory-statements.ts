// The advisory-lock statements of one instance, grouped: every try and unlock asked for while a
// statement runs goes into the next one, in the order asked, so under load a hundred uploads'
// lock traffic costs a few round trips instead of two each. They all run on the locker's one
// session, where advisory locks are re-entrant: an unlock and a later try of the same key in one
// statement leave the key held, whichever way a reader might fear they interleave.
import type postgres from 'postgres';

export type AdvisoryOp = 'lock' | 'lock_shared' | 'unlock' | 'unlock_shared';

interface Pending {
  op: AdvisoryOp;
  key: string;
  resolve(done: boolean): void;
  reject(error: unknown): void;
}

// A statement carries at most this many; the rest go in the next (keeps one statement short).
const MAX_BATCH = 1000;

export class AdvisoryStatements {
  private pending: Pending[] = [];
  private running = false;
  private statements = 0;
  private ops = 0;

  constructor(private readonly sql: postgres.Sql) {}

  /** Runs one operation in the next statement: a try answers whether the lock was taken. */
  run(op: AdvisoryOp, key: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending.push({ op, key, resolve, reject });
      this.kick();
    });
  }

  /** Statements sent and operations they carried since start (how well they are grouped). */
  get stats(): { statements: number; ops: number } {
    return { statements: this.statements, ops: this.ops };
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    // requests of this same turn of the event loop join the first statement
    queueMicrotask(() => void this.drain());
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) await this.execute(this.pending.splice(0, MAX_BATCH));
    } finally {
      this.running = false;
    }
  }

  private async execute(batch: Pending[]): Promise<void> {
    const items = JSON.stringify(batch.map(({ op, key }) => ({ op, key })));
    let rows: { done: boolean | null }[];
    try {
      rows = await this.sql<{ done: boolean | null }[]>`
        select case t.item->>'op'
            when 'lock' then pg_try_advisory_lock(hashtextextended(t.item->>'key', 0))
            when 'lock_shared' then pg_try_advisory_lock_shared(hashtextextended(t.item->>'key', 0))
            when 'unlock' then pg_advisory_unlock(hashtextextended(t.item->>'key', 0))
            when 'unlock_shared' then pg_advisory_unlock_shared(hashtextextended(t.item->>'key', 0))
          end as done
        from jsonb_array_elements(${items}::text::jsonb) with ordinality as t(item, n)
        order by t.n`;
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    this.statements++;
    this.ops += batch.length;
    for (const [i, p] of batch.entries()) p.resolve(rows[i]?.done === true);
  }
}
