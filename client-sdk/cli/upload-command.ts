// `upload-cli upload FILE`: the upload with a progress bar. Ctrl-C (or SIGTERM) stops it and keeps
// what the server has; running the same command again resumes it from there.
import path from 'node:path';
import { UploadClientError } from '../errors.js';
import { upload } from '../node/upload.js';
import type { Progress } from '../progress.js';
import { type Invocation, operand } from './args.js';
import type { CliContext } from './context.js';
import { EXIT } from './exit-codes.js';
import { formatBytes, parseCount, parseSize } from './format.js';
import { progressBar } from './progress-bar.js';

export async function uploadCommand(invocation: Invocation, context: CliContext): Promise<number> {
  const file = operand(invocation, 'FILE');
  const { values } = invocation;
  const chunkSize = values['chunk-size'] === undefined ? undefined : parseSize(values['chunk-size'], '--chunk-size');
  const parallel = values.parallel === undefined ? 1 : parseCount(values.parallel, '--parallel');
  const api = context.api();

  const bar = progressBar(context.interactive, path.basename(file));
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
  try {
    const result = await upload(file, {
      endpoint: context.tusUrl,
      apiUrl: context.baseUrl,
      token: api.token,
      chunkSize,
      parallelUploads: parallel,
      checksum: values['no-checksum'] !== true,
      resume: values['no-resume'] !== true,
      resumeFile: values['resume-file'],
      metadata: { asset_type: values['asset-type'], content_type: values['content-type'], filename: values.name },
      signal: controller.signal,
      onProgress: (progress) => {
        last = progress;
        bar.update(progress);
      },
    });
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
      const at = last ? `${formatBytes(last.bytesSent)} of ${formatBytes(last.bytesTotal ?? 0)}` : 'the start';
      const message = `interrupted at ${at}; run the same command again to resume`;
      if (context.json) context.print({ error: 'interrupted', message, file, bytesSent: last?.bytesSent ?? 0 }, '');
      else context.note(message);
      return signal === 'SIGINT' ? EXIT.interrupted : EXIT.terminated;
    }
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
