// The tus request headers, checked once before any handler runs: one validator per header, in a
// map, like @tus/server's and tusd's. A header that fails its validator is a 400 naming it (412
// for an unsupported protocol version, 415 for a PATCH body of the wrong type), and nothing runs.
import { Metadata } from '@tus/utils';
import type { Request } from 'express';
import { UploadError } from '../../store/errors.js';

export const TUS_VERSION = '1.0.0';
export const OFFSET_CONTENT_TYPE = 'application/offset+octet-stream';
const NON_NEGATIVE_INTEGER = /^(0|[1-9]\d{0,15})$/;

type Validator = (value: string, req: Request) => UploadError | undefined;

const wholeNumber =
  (name: string): Validator =>
  (value) =>
    NON_NEGATIVE_INTEGER.test(value) && Number.isSafeInteger(Number(value))
      ? undefined
      : new UploadError('validation_error', `${name} must be a non-negative whole number`);

const VALIDATORS = new Map<string, Validator>([
  [
    'tus-resumable',
    (value) =>
      value === TUS_VERSION
        ? undefined
        : new UploadError(
            'precondition_failed',
            `Tus-Resumable ${JSON.stringify(value.slice(0, 20))} is not supported; this server speaks tus ${TUS_VERSION}`,
            { 'Tus-Version': TUS_VERSION },
          ),
  ],
  ['upload-offset', wholeNumber('Upload-Offset')],
  ['upload-length', wholeNumber('Upload-Length')],
  [
    'upload-defer-length',
    (value) => (value === '1' ? undefined : new UploadError('validation_error', 'Upload-Defer-Length must be 1')),
  ],
  [
    'upload-metadata',
    (value) => {
      // an empty header is no metadata (some clients send one for a final upload)
      if (value.trim() === '') return undefined;
      try {
        Metadata.parse(value);
        return undefined;
      } catch {
        return new UploadError(
          'validation_error',
          'Upload-Metadata is not valid: comma-separated "key base64value" pairs with unique keys',
        );
      }
    },
  ],
  [
    'upload-concat',
    (value) =>
      value === 'partial' || /^final;/.test(value)
        ? undefined
        : new UploadError('validation_error', 'Upload-Concat must be "partial" or "final;<url> <url> ..."'),
  ],
  [
    'content-type',
    (value, req) => {
      const wanted = BODY_CONTENT_TYPES[req.method];
      // a creation without a body may say anything about a body it does not have
      if (wanted === undefined || (req.method === 'POST' && !carriesBody(req))) return undefined;
      const type = value.split(';')[0]?.trim().toLowerCase();
      return type === wanted
        ? undefined
        : new UploadError('unsupported_media_type', `a ${req.method} body requires Content-Type: ${wanted}`);
    },
  ],
]);

/**
 * The methods that carry upload bytes, and the type those bodies must have: PATCH (core) and POST
 * (creation-with-upload, whose Tus-Extension entry is derived from this table).
 */
export const BODY_CONTENT_TYPES: Readonly<Record<string, string>> = {
  PATCH: OFFSET_CONTENT_TYPE,
  POST: OFFSET_CONTENT_TYPE,
};

/** The header names checked here, of which Tus-Extension entries are derived (extensions.ts). */
export const VALIDATED_HEADERS: ReadonlySet<string> = new Set(VALIDATORS.keys());

/** A request with bytes in its body (a length above zero, or chunked). */
export function carriesBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) > 0);
}

/** Headers each method cannot do without. */
const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  PATCH: ['content-type', 'upload-offset'],
};

/** Throws the error of the first header that is missing or fails its validator. */
export function validateTusHeaders(req: Request): void {
  if (req.headers['tus-resumable'] === undefined) {
    throw new UploadError(
      'precondition_failed',
      `Tus-Resumable header is required; this server speaks tus ${TUS_VERSION} (and the IETF resumable-uploads draft with Upload-Draft-Interop-Version 3 to 8)`,
      {
        'Tus-Version': TUS_VERSION,
      },
    );
  }
  for (const name of REQUIRED[req.method] ?? []) {
    if (req.headers[name] === undefined) {
      throw name === 'content-type'
        ? new UploadError('unsupported_media_type', `a PATCH body requires Content-Type: ${OFFSET_CONTENT_TYPE}`)
        : new UploadError('validation_error', `${req.method} requires an ${headerName(name)} header`);
    }
  }
  for (const [name, validate] of VALIDATORS) {
    const value = req.headers[name];
    if (value === undefined) continue;
    const problem = validate(Array.isArray(value) ? value.join(',') : value, req);
    if (problem) throw problem;
  }
}

/** A validated numeric header, or undefined when absent. */
export function numericHeader(req: Request, name: 'upload-offset' | 'upload-length'): number | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? Number(value) : undefined;
}

function headerName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => `${dash}${c.toUpperCase()}`);
}
