// Upload-Checksum in browsers: sha256 of the Blob slice a request carries, with Web Crypto. Web
// Crypto exists only in secure contexts (https, localhost); elsewhere no checksum is sent.

export async function browserBodyChecksum(body: unknown): Promise<string | undefined> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return undefined;
  let bytes: ArrayBuffer | undefined;
  if (body instanceof Blob) bytes = await body.arrayBuffer();
  else if (body instanceof ArrayBuffer) bytes = body;
  if (!bytes) return undefined;
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes));
  let binary = '';
  for (const byte of digest) binary += String.fromCharCode(byte);
  return `sha256 ${btoa(binary)}`;
}

/** Blobs can be sent again after a 401. */
export function browserResendable(body: unknown): boolean {
  return body === null || body === undefined || body instanceof Blob || body instanceof ArrayBuffer;
}
