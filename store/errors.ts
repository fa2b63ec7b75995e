// The error types of the service, one table: a stable type, its HTTP status, thrown as
// UploadError and rendered in one place by the server. Types are the seed's, plus the few the tus
// protocol needs (conflicts, gone, unsupported media type, insufficient storage).
export const ERROR_STATUS = {
  validation_error: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  offset_conflict: 409,
  gone: 410,
  precondition_failed: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  locked: 423,
  rate_limited: 429,
  checksum_mismatch: 460,
  invalid_state: 400,
  invalid_chunk: 400,
  internal_error: 500,
  storage_error: 500,
  unavailable: 503,
  insufficient_storage: 507,
} as const;

export type ErrorType = keyof typeof ERROR_STATUS;

export class UploadError extends Error {
  readonly status: number;

  constructor(
    readonly type: ErrorType,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'UploadError';
    this.status = ERROR_STATUS[type];
  }

  /** The shape @tus/server renders for errors thrown from a store or hook. */
  get status_code(): number {
    return this.status;
  }

  get body(): string {
    return `${this.message}\n`;
  }
}

export function isUploadError(error: unknown): error is UploadError {
  return error instanceof UploadError;
}
