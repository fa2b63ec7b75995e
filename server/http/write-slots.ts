// A cap on the data requests (tus PATCH and creation bodies, REST chunks, single-shot uploads) one
// user has in flight on this instance: beyond it a request is refused with 429 before any byte is
// read, so one account cannot hold every socket, write block and lock of the server.
import { UploadError } from '../../store/errors.js';

export class WriteSlots {
  private readonly inFlight = new Map<string, number>();

  /** @param perUser data requests one owner may have in flight; 0 turns the cap off */
  constructor(private readonly perUser: number) {}

  /** Takes a slot for `owner`; the returned function gives it back (call it exactly once). */
  enter(owner: string): () => void {
    const held = this.inFlight.get(owner) ?? 0;
    if (this.perUser > 0 && held >= this.perUser) {
      throw new UploadError(
        'rate_limited',
        `you have ${held} uploads sending data at once, the most allowed; wait for one to finish`,
        { 'Retry-After': '1' },
      );
    }
    this.inFlight.set(owner, held + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const now = (this.inFlight.get(owner) ?? 1) - 1;
      if (now > 0) this.inFlight.set(owner, now);
      else this.inFlight.delete(owner);
    };
  }

  /** Runs `work` in a slot of `owner`. */
  async run<T>(owner: string, work: () => Promise<T>): Promise<T> {
    const leave = this.enter(owner);
    try {
      return await work();
    } finally {
      leave();
    }
  }
}
