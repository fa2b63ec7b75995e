// A start that must not go ahead because going on could lose data (a data directory bound to
// another database, an embedded database held by another process). Entry points print the message,
// one line saying what is wrong and what to do, and exit with code 2; no stack trace.
export class StartRefusedError extends Error {
  readonly exitCode = 2;

  constructor(message: string) {
    super(message);
    this.name = 'StartRefusedError';
  }
}
