// The interop versions of the IETF "Resumable Uploads for HTTP" draft (draft-ietf-httpbis-
// resumable-upload) this server speaks, selected per request by Upload-Draft-Interop-Version, and
// what changed between them. Interop 3 is draft -01 (Apple iOS 17), 4 is -02, 5 is -03 (tus-js-client
// 'ietf-draft-03', iOS 18), 6 is -04 and -05 (tus-js-client 'ietf-draft-05', iOS 18.1), 7 is -06 to
// -08, 8 is -09 to -11 (current).
import type { IncomingMessage } from 'node:http';
import { parseItem } from 'structured-headers';

export interface DraftVersion {
  interop: number;
  /** Interop 3 says Upload-Incomplete (true while incomplete); later ones Upload-Complete. */
  completeField: 'Upload-Complete' | 'Upload-Incomplete';
  /** An append must be `application/partial-upload` (draft -04 on). */
  partialUploadType: boolean;
  /** 104 responses carry Upload-Offset while a body arrives (draft -03 on). */
  progress: boolean;
  /** Upload-Limit in responses, with the resource's lifetime as `expires` (-04, -05) or `max-age` (-06 on). */
  limits: 'none' | 'expires' | 'max-age';
  /** RFC 9457 problem details for a mismatching offset, a completed upload, inconsistent lengths (-04 on). */
  problems: boolean;
  /** Status of an append that leaves the upload incomplete: 201 up to -05, 204 after. */
  incompleteStatus: 201 | 204;
  /** Status of an append that completes it: 201 up to -05, 200 after. */
  completeStatus: 200 | 201;
  /** HEAD and DELETE carrying Upload-Offset, the completeness field or Upload-Length are a 400 (-01 to -05). */
  strictRetrieval: boolean;
  /** An append must say whether it completes the upload (-06 on); before, no field means it does not. */
  completeRequired: boolean;
  /** Appending bytes to a completed upload is an inconsistent length (-09 on), else a completed upload. */
  appendToCompletedIsLength: boolean;
}

const base = {
  completeField: 'Upload-Complete',
  partialUploadType: true,
  progress: true,
  limits: 'max-age',
  problems: true,
  incompleteStatus: 204,
  completeStatus: 200,
  strictRetrieval: false,
  completeRequired: true,
  appendToCompletedIsLength: false,
} as const satisfies Omit<DraftVersion, 'interop'>;

const early = {
  ...base,
  incompleteStatus: 201,
  completeStatus: 201,
  strictRetrieval: true,
  completeRequired: false,
} as const;

export const DRAFT_VERSIONS: ReadonlyMap<number, DraftVersion> = new Map(
  (
    [
      {
        ...early,
        interop: 3,
        completeField: 'Upload-Incomplete',
        partialUploadType: false,
        progress: false,
        limits: 'none',
        problems: false,
      },
      { ...early, interop: 4, partialUploadType: false, progress: false, limits: 'none', problems: false },
      { ...early, interop: 5, partialUploadType: false, limits: 'none', problems: false },
      { ...early, interop: 6, limits: 'expires' },
      { ...base, interop: 7 },
      { ...base, interop: 8, appendToCompletedIsLength: true },
    ] satisfies DraftVersion[]
  ).map((v) => [v.interop, v]),
);

export const CURRENT_INTEROP_VERSION = 8;

/** The draft version a request speaks, or undefined when it names none this server knows. */
export function draftVersionOf(req: IncomingMessage): DraftVersion | undefined {
  const header = req.headers['upload-draft-interop-version'];
  if (typeof header !== 'string') return undefined;
  try {
    const [value] = parseItem(header);
    return typeof value === 'number' ? DRAFT_VERSIONS.get(value) : undefined;
  } catch {
    return undefined;
  }
}
