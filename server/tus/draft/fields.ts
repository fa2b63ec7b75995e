// The draft's header fields, as RFC 9651 structured fields (parsed and written by the
// structured-headers package): Upload-Offset and Upload-Length (Integer), Upload-Complete
// (Boolean; interop 3's Upload-Incomplete is its negation), Upload-Limit (Dictionary), and the
// RFC 9530 digests (Dictionary of Byte Sequences). A value of the wrong type makes the field count
// as absent, as the draft requires.
import type { IncomingMessage } from 'node:http';
import { parseDictionary, parseItem, serializeDictionary } from 'structured-headers';
import { UploadError } from '../../../store/errors.js';
import type { DraftVersion } from './versions.js';

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function itemOf(req: IncomingMessage, name: string): unknown {
  const header = headerOf(req, name);
  if (header === undefined) return undefined;
  try {
    return parseItem(header)[0];
  } catch {
    return undefined;
  }
}

/** A non-negative Integer field (Upload-Offset, Upload-Length), or undefined. */
export function integerField(req: IncomingMessage, name: 'upload-offset' | 'upload-length'): number | undefined {
  const value = itemOf(req, name);
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** Whether the request says it completes the upload; undefined when it does not say. */
export function completeOf(req: IncomingMessage, version: DraftVersion): boolean | undefined {
  const value = itemOf(req, version.completeField.toLowerCase());
  if (typeof value !== 'boolean') return undefined;
  return version.completeField === 'Upload-Incomplete' ? !value : value;
}

/** True when the request carries the completeness field at all (even of the wrong type). */
export function hasCompleteField(req: IncomingMessage, version: DraftVersion): boolean {
  return req.headers[version.completeField.toLowerCase()] !== undefined;
}

export function completeHeader(version: DraftVersion, complete: boolean): Record<string, string> {
  const value = version.completeField === 'Upload-Incomplete' ? !complete : complete;
  return { [version.completeField]: value ? '?1' : '?0' };
}

export interface Limits {
  maxSize: number;
  /** Seconds the upload resource has left; absent before one exists or once it is complete. */
  maxAge?: number | undefined;
}

/** Upload-Limit for this version (none before interop 6). */
export function limitHeader(version: DraftVersion, limits: Limits): Record<string, string> {
  if (version.limits === 'none') return {};
  const members: Record<string, number> = { 'max-size': limits.maxSize };
  if (limits.maxAge !== undefined) members[version.limits] = Math.max(0, limits.maxAge);
  return { 'Upload-Limit': serializeDictionary(members) };
}

/** RFC 9530 digests of a Content-Digest or Repr-Digest field: algorithm -> digest bytes. */
export function digestField(req: IncomingMessage, name: 'content-digest' | 'repr-digest'): Map<string, Buffer> {
  const header = headerOf(req, name);
  const digests = new Map<string, Buffer>();
  if (header === undefined) return digests;
  let parsed: ReturnType<typeof parseDictionary>;
  try {
    parsed = parseDictionary(header);
  } catch {
    throw new UploadError('validation_error', `${name} is not a structured dictionary like sha-256=:<base64>:`);
  }
  for (const [algorithm, member] of parsed) {
    const value = member[0];
    if (value instanceof ArrayBuffer) digests.set(algorithm, Buffer.from(value));
  }
  return digests;
}

/** A Repr-Digest (or Content-Digest) value for sha-256 digest bytes. */
export function sha256DigestField(hex: string): string {
  return serializeDictionary({ 'sha-256': Buffer.from(hex, 'hex') });
}
