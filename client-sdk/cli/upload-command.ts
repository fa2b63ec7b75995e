// `upload-cli upload FILE`: the upload with a progress bar. Ctrl-C (or SIGTERM) stops it and keeps
// what the server has; running the same command again resumes it from there, and the message says
// so only when it is true (not with --no-resume, not when the server had not accepted the upload: a creation cut off is cancelled).
import path from 'node:path';
import { UploadClientError } from '../errors.js';
import { upload } from '../node/upload.js';
import type { Progress } from '../progress.js';
import { uploadIdOf } from '../rest.js';
import { type Invocation, operand } from './args.js';
import type { CliContext } from './context.js';
import { EXIT } from './exit-codes.js';
import { formatBytes, parseCount, parseSize } from './format.js';

/** What to tell a person whose upload was stopped: how far it got and what running it again does. */
function interruptedMessage(
  error: UploadClientError,
  last: Progress | undefined,
  noResume: boolean,
  url: string | null,
): string {
  const at = last ? `at ${formatBytes(last.bytesSent)} of ${formatBytes(last.bytesTotal ?? 0)}` : 'at the start';
  if (error.resumable) return `interrupted ${at}; run the same command again to resume`;
  if (!noResume) return `interrupted ${at}, before the server had accepted the upload; the same command starts over`;
  const cancel = url ? `, or: upload-cli cancel ${uploadIdOf(url)}` : '';
  return (
    `interrupted ${at}; not remembered for resuming (--no-resume), so the same command starts over ` +
    `(what the server has expires by itself${cancel})`
  );
}

export async function uploadCommand(invocation: Invocation, context: CliContext): Promise<number> {
  const file = operand(invocation, 'FILE');
  const { values } = invocation;
  const chunkSize = values['chunk-size'] === undefined ? undefined : parseSize(values['chunk-size'], '--chunk-size');
  const parallel = values.parallel === undefined ? 1 : parseCount(values.parallel, '--parallel');
  const api = context.api();

  const bar = context.progress(path.basename(file));
  let last: Progress | undefined;
  const controller = new AbortController();
  let signal: NodeJS.Signals | undefined;
  const onSignal = (received: NodeJS.Signals) => {
    // a second signal while the first is being handled: stop now
    if (signal) process.exit(received === 'SIGINT' ? EXIT.interrupted : EXIT.terminated);
    signal = received;
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const started = Date.now();
  const task = upload(file, {
    endpoint: context.tusUrl,
    apiUrl: context.baseUrl,
    token: api.token,
    chunkSize,
    parallelUploads: parallel,
    checksum: values['no-checksum'] !== true,
    resume: values['no-resume'] !== true,
    resumeFile: context.resumeFile,
    retryDelays: context.retryDelays,
    onRetry: (notice) => context.retrying(notice),
    metadata: { asset_type: values['asset-type'], content_type: values['content-type'], filename: values.name },
    signal: controller.signal,
    onProgress: (progress) => {
      last = progress;
      bar.update(progress);
    },
  });
  try {
    const result = await task;
    bar.stop();
    const seconds = (Date.now() - started) / 1000;
    const resumed = result.resumedFrom > 0 ? `, resumed at ${formatBytes(result.resumedFrom)}` : '';
    context.print(
      { ...result, file, seconds },
      `uploaded ${file}: asset ${result.assetId}, ${formatBytes(result.size)}, sha256 ${result.sha256}${resumed}`,
    );
    return EXIT.ok;
  } catch (error) {
    bar.stop();
    if (signal && error instanceof UploadClientError && error.kind === 'aborted') {
      const message = interruptedMessage(error, last, values['no-resume'] === true, task.url);
      const bytesSent = last?.bytesSent ?? 0;
      if (context.json) {
        context.print({ error: 'interrupted', message, file, bytesSent, resumable: error.resumable }, '');
      } else context.note(message);
      return signal === 'SIGINT' ? EXIT.interrupted : EXIT.terminated;
    }
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
