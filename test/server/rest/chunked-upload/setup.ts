// Shared by the chunked-upload session tests: the chunk size they use and a file-exists check.
import { access } from 'node:fs/promises';

export const MiB = 1024 * 1024;
export const C = 5 * MiB;

export async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
