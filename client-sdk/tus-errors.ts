// tus-js-client's errors, turned into UploadClientError: the server's answer when there was one,
// the request that failed when there was none.
import type { DetailedError, HttpRequest } from 'tus-js-client';
import { errorForResponse, isUploadClientError, UploadClientError } from './errors.js';

function describe(request: HttpRequest): string {
  const method = request.getMethod();
  if (method === 'POST') return 'creating the upload';
  if (method === 'HEAD') return 'asking the server for the upload offset';
  if (method === 'DELETE') return 'terminating the upload';
  return 'uploading';
}

export function fromTusError(error: unknown): UploadClientError {
  if (isUploadClientError(error)) return error;
  const detailed = error as Partial<DetailedError> & Error;
  const request = detailed.originalRequest ?? undefined;
  const response = detailed.originalResponse ?? undefined;
  if (request && response) return errorForResponse(describe(request), response.getStatus(), response.getBody() ?? '');
  if (request) {
    const cause = detailed.causingError?.message ?? detailed.message;
    return new UploadClientError('network', `${describe(request)}: no answer from ${request.getURL()} (${cause})`);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new UploadClientError(message.startsWith('tus: ') ? 'usage' : 'source', message.replace(/^tus: /, ''));
}
