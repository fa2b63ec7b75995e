// The embedded database on a thread of its own: PGlite runs PostgreSQL compiled to WebAssembly
// synchronously, so on the main thread every statement stopped the event loop (about half of the
// server's main-thread time under many small uploads). Here it runs beside it; the main thread
// talks to it through messages (pglite-thread.ts). One request at a time per transaction, as on a
// connection. The database is one session: statements outside a transaction, and transactions,
// take it in turn (pglite-gate.ts); a read marked `first` (HEAD's) takes the next turn ahead of
// the writes queued before it, so it does not wait behind a burst of uploads' statements.
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, type Transaction, types } from '@electric-sql/pglite';
import { SessionGate } from './pglite-gate.js';

export type PgliteRequest =
  | {
      id: number;
      op: 'query';
      sql: string;
      params: unknown[];
      rowMode: 'array' | 'object';
      /** The transaction it belongs to; `begin` on its first query opens it. */
      tx?: number;
      begin?: boolean;
      /** Outside a transaction: take the next turn, ahead of queued statements (a read). */
      first?: boolean;
    }
  | { id: number; op: 'end'; tx: number; commit: boolean }
  | { id: number; op: 'close' };

export type PgliteReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { message: string; fields: Record<string, unknown> } };

// drizzle reads dates, times and intervals as PostgreSQL's text, not as Date objects
const keep = (value: string) => value;
const PARSERS = {
  [types.TIMESTAMP]: keep,
  [types.TIMESTAMPTZ]: keep,
  [types.INTERVAL]: keep,
  [types.DATE]: keep,
  1231: keep, // numeric[]
  1115: keep, // timestamp[]
  1185: keep, // timestamptz[]
  1187: keep, // interval[]
  1182: keep, // date[]
};

/** Thrown into a transaction's callback to make PGlite roll it back. */
class Rollback extends Error {}

interface OpenTransaction {
  tx: Transaction;
  end(commit: boolean): void;
}

async function serve(dataDir: string): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('pglite-worker runs as a worker thread');
  const db = await PGlite.create({ dataDir });
  const gate = new SessionGate();
  const open = new Map<number, OpenTransaction>();
  const finished = new Map<number, Promise<unknown>>();

  const begin = (tx: number): Promise<void> =>
    new Promise<void>((began, failed) => {
      const done = db.transaction(
        (t) =>
          new Promise<void>((commit, rollback) => {
            open.set(tx, { tx: t, end: (ok) => (ok ? commit() : rollback(new Rollback())) });
            began();
          }),
      );
      finished.set(tx, done);
      done.catch(failed);
    });

  const handle = async (request: PgliteRequest): Promise<unknown> => {
    switch (request.op) {
      case 'query': {
        const options = { rowMode: request.rowMode, parsers: PARSERS };
        const { tx } = request;
        if (tx === undefined)
          return rowsOf(await gate.run(request.first === true, () => db.query(request.sql, request.params, options)));
        // a transaction's turn lasts from its opening query until it is committed or rolled back
        if (request.begin) {
          await new Promise<void>((opened, failed) => {
            void gate.run(false, async () => {
              await begin(tx).then(opened, failed);
              await finished.get(tx)?.catch(() => undefined);
            });
          });
        }
        const on = open.get(tx)?.tx;
        if (!on) throw new Error(`transaction ${tx} is not open`);
        return rowsOf(await on.query(request.sql, request.params, options));
      }
      case 'end': {
        const entry = open.get(request.tx);
        // a rollback after the opening query itself failed: nothing is open
        if (!entry && !request.commit) return null;
        if (!entry) throw new Error(`transaction ${request.tx} is not open`);
        open.delete(request.tx);
        entry.end(request.commit);
        const done = finished.get(request.tx);
        finished.delete(request.tx);
        await done?.catch((error: unknown) => {
          if (!(error instanceof Rollback)) throw error;
        });
        return null;
      }
      case 'close':
        await db.close();
        return null;
    }
  };

  port.on('message', (request: PgliteRequest) => {
    handle(request).then(
      (value) => port.postMessage({ id: request.id, ok: true, value } satisfies PgliteReply),
      (error: unknown) => port.postMessage({ id: request.id, ok: false, error: describe(error) } satisfies PgliteReply),
    );
  });
  port.postMessage({ id: 0, ok: true, value: 'ready' } satisfies PgliteReply);
}

function rowsOf(result: { rows: unknown[]; fields: unknown[]; affectedRows?: number }) {
  return { rows: result.rows, fields: result.fields, affectedRows: result.affectedRows };
}

/** An error as data: its message and its own fields (PostgreSQL's code, detail, ...). */
function describe(error: unknown): { message: string; fields: Record<string, unknown> } {
  if (!(error instanceof Error)) return { message: String(error), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) fields[key] = value;
  }
  return { message: error.message, fields };
}

serve((workerData as { dataDir: string }).dataDir).catch((error: unknown) => {
  parentPort?.postMessage({ id: 0, ok: false, error: describe(error) } satisfies PgliteReply);
});
