// What the upload core needs from its environment (Node or a browser), and the source as an entry
// point has prepared it.
import type { FileReader, HttpRequest, HttpStack, UrlStorage } from 'tus-js-client';
import type { BodyChecksum } from './http-stack.js';

export interface Platform {
  /** The environment's own HTTP stack (tus-js-client's default for it). */
  httpStack: HttpStack;
  /** Where fingerprints of unfinished uploads are kept for resuming. */
  urlStorage: UrlStorage;
  checksum: BodyChecksum;
  /** Reads sources into request bodies (default: tus-js-client's for the environment). */
  fileReader?: FileReader | undefined;
  /** True for request bodies that can be sent a second time. */
  resendable: (body: unknown) => boolean;
  /** Relative endpoints are resolved against this (a browser's location). */
  baseHref?: string | undefined;
  /**
   * Calls `connected` once the request sent has a connection to the server, so bytes are counted as
   * progress only then (Node buffers a request body before it connects). Unset: from the start.
   */
  whenConnected?: ((request: HttpRequest, connected: () => void) => void) | undefined;
}

export interface PreparedSource {
  /** What tus-js-client reads: a file stream, Buffer, Readable or Blob. */
  input: unknown;
  /** Length in bytes; null when not known before the end (sent with the last request). */
  size: number | null;
  filename: string;
  contentType?: string | undefined;
  /** Identifies the source across runs for resuming; null: this source cannot be resumed. */
  fingerprint: string | null;
  /** Whether the source can be read in several places at once (parallel parts). */
  sliceable: boolean;
}
