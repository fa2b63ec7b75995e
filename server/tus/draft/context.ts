// What a draft handler receives: a routed, authenticated tus call, with the draft version the
// request speaks; and the pieces every draft handler shares (progress 104s, the body's digest).
import type { ExpectedChecksum } from '../../../store/checksum.js';
import type { ProgressEvent } from '../../../store/events.js';
import type { TusCall, TusDeps } from '../context.js';
import { digestField } from './fields.js';
import { sendUploadResumptionSupported } from './informational.js';
import type { DraftVersion } from './versions.js';

export interface DraftCall extends TusCall {
  version: DraftVersion;
}

export type DraftHandler = (deps: TusDeps, call: DraftCall) => Promise<void>;

/**
 * While a body arrives, a 104 with Upload-Offset each time more of it is durable (interop 5 on):
 * the client may drop what the server has acknowledged. Returns the function that stops them.
 */
export function progressResponses(deps: TusDeps, call: DraftCall, id: string): () => void {
  if (!call.version.progress) return () => {};
  const interop = String(call.version.interop);
  const listener = (event: ProgressEvent) => {
    if (event.id !== id) return;
    sendUploadResumptionSupported(call.res, {
      'Upload-Draft-Interop-Version': interop,
      'Upload-Offset': String(event.offset),
    });
  };
  deps.service.events.on('progress', listener);
  return () => deps.service.events.off('progress', listener);
}

// strongest first; RFC 9530's deprecated algorithms are ignored, as it allows
const CONTENT_DIGESTS = [
  ['sha-512', 'sha512'],
  ['sha-256', 'sha256'],
] as const;

/** Content-Digest of a creation or append body: checked like Upload-Checksum, nothing kept on a mismatch. */
export function contentDigestOf(call: DraftCall): ExpectedChecksum | undefined {
  const digests = digestField(call.req, 'content-digest');
  for (const [name, algorithm] of CONTENT_DIGESTS) {
    const digest = digests.get(name);
    if (digest !== undefined) return { algorithm, digest };
  }
  return undefined;
}
