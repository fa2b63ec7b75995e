// Turns on the embedded database's one session (pglite-worker.ts): a turn is a statement outside a
// transaction, or a whole transaction from its opening query until it ends. Turns run one at a
// time in the order asked, except that a turn asked `first` (a read that answers a request without
// a lock) goes ahead of those not started yet. Only statements that have not run are passed, so
// nothing a caller was already answered about changes order.
export class SessionGate {
  private busy = false;
  private readonly waiting: (() => void)[] = [];
  private readonly waitingFirst: (() => void)[] = [];

  /** Runs `work` in a turn of its own; the turn ends when its promise settles. */
  async run<T>(first: boolean, work: () => Promise<T>): Promise<T> {
    await this.take(first);
    try {
      return await work();
    } finally {
      this.next();
    }
  }

  private take(first: boolean): Promise<void> {
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve();
    }
    return new Promise((start) => (first ? this.waitingFirst : this.waiting).push(start));
  }

  private next(): void {
    const start = this.waitingFirst.shift() ?? this.waiting.shift();
    if (start) start();
    else this.busy = false;
  }
}
