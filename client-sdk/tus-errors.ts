// tus-js-client's errors, turned into UploadClientError: the server's answer when there was one,
// "cannot connect to <server>" when there was none, in the same words as the REST calls.
import type { DetailedError, HttpRequest } from 'tus-js-client';
import { connectionError, errorForResponse, isUploadClientError, UploadClientError } from './errors.js';

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
  if (request) return connectionError(request.getURL(), detailed.causingError ?? detailed);
  const message = error instanceof Error ? error.message : String(error);
  return new UploadClientError(message.startsWith('tus: ') ? 'usage' : 'source', message.replace(/^tus: /, ''));
}
