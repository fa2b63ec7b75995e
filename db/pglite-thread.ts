// The main thread's side of the embedded database's own thread (pglite-worker.ts): the part of
// PGlite's interface drizzle uses (query and transaction), each call a message to the worker.
// Errors come back as errors with PostgreSQL's fields (code, detail, ...), as PGlite throws them.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PgliteReply, PgliteRequest } from './pglite-worker.js';

type Distribute<T> = T extends unknown ? Omit<T, 'id'> : never;
type Outgoing = Distribute<PgliteRequest>;

export interface QueryConfig {
  rowMode?: 'array' | 'object';
}

export interface QueryResult {
  rows: unknown[];
  fields: { name: string; dataTypeID: number }[];
  affectedRows?: number;
}

export interface PgliteQueries {
  query(sql: string, params?: unknown[], config?: QueryConfig): Promise<QueryResult>;
}

export class PgliteThread implements PgliteQueries {
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  private nextId = 1;
  private nextTx = 1;
  private exited: Error | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: PgliteReply) => this.settle(reply));
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => this.fail(new Error(`the embedded database's thread exited (code ${code})`)));
  }

  /** Starts the thread and opens the database in `dataDir` there. */
  static async open(dataDir: string): Promise<PgliteThread> {
    const worker = spawnWorker(dataDir);
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (reply: PgliteReply) => {
        if (reply.id !== 0) return;
        worker.off('message', onMessage);
        if (reply.ok) resolve();
        else reject(toError(reply.error));
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the embedded database's thread exited (code ${code})`)));
    });
    try {
      await ready;
    } catch (error) {
      await worker.terminate();
      throw error;
    }
    return new PgliteThread(worker);
  }

  query(sql: string, params: unknown[] = [], config: QueryConfig = {}): Promise<QueryResult> {
    return this.send({ op: 'query', sql, params, rowMode: config.rowMode ?? 'object' }) as Promise<QueryResult>;
  }

  /**
   * The same database for reads that answer a request without a lock: each statement takes the
   * database's next turn, ahead of statements queued before it (pglite-worker.ts); transactions
   * are ordinary ones.
   */
  readsFirst(): PgliteQueries & Pick<PgliteThread, 'transaction'> {
    return {
      query: (sql, params = [], config = {}) =>
        this.send({
          op: 'query',
          sql,
          params,
          rowMode: config.rowMode ?? 'object',
          first: true,
        }) as Promise<QueryResult>,
      transaction: (work) => this.transaction(work),
    };
  }

  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back when it throws. The
   * transaction opens with its first query, in the same message: an open transaction holds the
   * whole database, and under load every reply waits its turn on this thread's event loop, so a
   * separate "begin" would hold it for one more turn.
   */
  async transaction<T>(work: (tx: PgliteQueries) => Promise<T>): Promise<T> {
    const tx = this.nextTx++;
    let begun = false;
    const queries: PgliteQueries = {
      query: (sql, params = [], config = {}) => {
        const begin = !begun;
        begun = true;
        return this.send({
          op: 'query',
          sql,
          params,
          rowMode: config.rowMode ?? 'object',
          tx,
          begin,
        }) as Promise<QueryResult>;
      },
    };
    let result: T;
    try {
      result = await work(queries);
    } catch (error) {
      if (begun) await this.send({ op: 'end', tx, commit: false });
      throw error;
    }
    if (begun) await this.send({ op: 'end', tx, commit: true });
    return result;
  }

  async close(): Promise<void> {
    if (!this.exited) await this.send({ op: 'close' });
    await this.worker.terminate();
    this.fail(new Error("the embedded database's thread exited (closed)"));
  }

  private send(request: Outgoing): Promise<unknown> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  private settle(reply: PgliteReply): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    if (reply.ok) waiting.resolve(reply.value);
    else waiting.reject(toError(reply.error));
  }

  private fail(error: Error): void {
    this.exited ??= error;
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}

function toError(described: { message: string; fields: Record<string, unknown> }): Error {
  return Object.assign(new Error(described.message), described.fields);
}

// beside this module: pglite-worker.js in dist/, pglite-worker.ts under tsx
function spawnWorker(dataDir: string): Worker {
  const self = fileURLToPath(import.meta.url);
  const entry = path.join(path.dirname(self), `pglite-worker${path.extname(self)}`);
  if (path.extname(self) !== '.ts') return new Worker(entry, { workerData: { dataDir } });
  const url = JSON.stringify(pathToFileURL(entry).href);
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${url}); });`, {
    eval: true,
    workerData: { dataDir },
  });
}
