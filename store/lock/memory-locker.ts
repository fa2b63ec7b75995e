// Upload locks of one process (the embedded database runs one process per DATA_DIR).
import { LockTable } from './lock-table.js';
import type { HeldLock, LockRequest, UploadLocker } from './upload-locker.js';

export class MemoryLocker implements UploadLocker {
  private readonly table = new LockTable();

  constructor(private readonly acquireTimeoutMs = 20_000) {}

  async acquire(key: string, request: LockRequest): Promise<HeldLock> {
    const holder = await this.table.acquire(key, request, Date.now() + (request.timeoutMs ?? this.acquireTimeoutMs));
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        this.table.release(key, holder);
      },
    };
  }

  async close(): Promise<void> {}
}
