// What a draft handler receives: a routed, authenticated tus call, with the draft version the
// request speaks; and the pieces every draft handler shares (progress 104s, the body's digest).

import type { ProgressEvent, UploadEvents } from '../../../store/events.js';
import type { ExpectedChecksum } from '../../../store/write/checksum.js';
import type { TusCall, TusDeps } from '../context.js';
import { digestField } from './fields.js';
import { sendUploadResumptionSupported } from './informational.js';
import type { DraftVersion } from './versions.js';

export interface DraftCall extends TusCall {
  version: DraftVersion;
  /** Where this request hears about its upload's progress (one listener for all requests). */
  progress: ProgressRelay;
}

export type DraftHandler = (deps: TusDeps, call: DraftCall) => Promise<void>;

/**
 * Progress events of the uploads that draft requests are sending bytes to, handed to those
 * requests: one listener on the store's events for any number of requests.
 */
export class ProgressRelay {
  private readonly watchers = new Map<string, Set<(event: ProgressEvent) => void>>();

  constructor(events: UploadEvents) {
    events.on('progress', (event) => {
      for (const watch of this.watchers.get(event.id) ?? []) watch(event);
    });
  }

  /** Calls `watch` for each progress event of upload `id` until the returned function is called. */
  watch(id: string, watch: (event: ProgressEvent) => void): () => void {
    const set = this.watchers.get(id) ?? new Set();
    set.add(watch);
    this.watchers.set(id, set);
    return () => {
      set.delete(watch);
      if (set.size === 0) this.watchers.delete(id);
    };
  }
}

/**
 * While a body arrives, a 104 with Upload-Offset each time more of it is durable (interop 5 on):
 * the client may drop what the server has acknowledged. Returns the function that stops them.
 */
export function progressResponses(call: DraftCall, id: string): () => void {
  if (!call.version.progress) return () => {};
  const interop = String(call.version.interop);
  return call.progress.watch(id, (event) => {
    sendUploadResumptionSupported(call.res, {
      'Upload-Draft-Interop-Version': interop,
      'Upload-Offset': String(event.offset),
    });
  });
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
