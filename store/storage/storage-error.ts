// Storage failures a client can act on, mapped onto the error table; anything else passes through
// unchanged (and becomes a logged 500).
import { UploadError } from '../errors.js';

export function storageError(error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new UploadError(
      'insufficient_storage',
      'the server is out of disk space; retry later, the upload keeps every byte it acknowledged',
    );
  }
  return error;
}
