// The small commands of upload-cli: status, list, cancel, download and token.
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { SessionState, SessionStatus } from '../api-types.js';
import { UploadClientError } from '../errors.js';
import { downloadToFile, downloadToStream } from '../node/download.js';
import { JsonFileUrlStorage } from '../node/url-storage.js';
import { ProgressMeter } from '../progress.js';
import { cancelUpload, getAsset, getSessionStatus, listSessions, uploadIdOf } from '../rest.js';
import { type Invocation, operand } from './args.js';
import type { CliContext } from './context.js';
import { mintDevToken } from './dev-token.js';
import { EXIT } from './exit-codes.js';
import { formatBytes, parseCount, parseDuration } from './format.js';

const STATES: readonly SessionState[] = [
  'initiated',
  'uploading',
  'paused',
  'completed',
  'failed',
  'cancelled',
  'expired',
];

function describe(session: SessionStatus): string {
  const size = session.file_size === null ? '?' : formatBytes(session.file_size);
  const asset = session.asset_id
    ? `  asset ${session.asset_id}`
    : session.status === 'completed'
      ? '  asset deleted'
      : '';
  return `${session.session_id}  ${session.status.padEnd(9)}  ${formatBytes(session.offset)} / ${size} (${session.progress_percent}%)  ${session.filename}${asset}`;
}

export async function statusCommand(invocation: Invocation, context: CliContext): Promise<number> {
  const session = await getSessionStatus(context.api(), uploadIdOf(operand(invocation, 'ID')));
  const unfinished = ['initiated', 'uploading', 'paused'].includes(session.status);
  const details = [
    unfinished ? `  expires ${session.expires_at}` : undefined,
    session.error ? `  error: ${session.error}` : undefined,
  ].filter(Boolean);
  context.print(session, [describe(session), ...details].join('\n'));
  return EXIT.ok;
}

export async function listCommand(invocation: Invocation, context: CliContext): Promise<number> {
  const { status, limit } = invocation.values;
  if (status !== undefined && !(STATES as readonly string[]).includes(status)) {
    throw new UploadClientError('usage', `--status must be one of ${STATES.join(', ')}`);
  }
  const list = await listSessions(context.api(), {
    status: status as SessionState | undefined,
    limit: limit === undefined ? undefined : parseCount(limit, '--limit'),
  });
  const lines = list.sessions.map(describe);
  context.print(list, lines.length === 0 ? 'no upload sessions' : `${lines.join('\n')}\n(${list.total} in all)`);
  return EXIT.ok;
}

export async function cancelCommand(invocation: Invocation, context: CliContext): Promise<number> {
  const id = uploadIdOf(operand(invocation, 'ID'));
  await cancelUpload(context.api(), id);
  // forget it for resuming too, so running the upload again starts afresh
  const storage = new JsonFileUrlStorage(context.resumeFile);
  for (const entry of await storage.findAllUploads()) {
    const urls = [entry.uploadUrl, ...(entry.parallelUploadUrls ?? [])];
    if (urls.some((url) => url && uploadIdOf(url) === id)) await storage.removeUpload(entry.urlStorageKey);
  }
  context.print({ uploadId: id, status: 'cancelled' }, `cancelled upload ${id}`);
  return EXIT.ok;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

export async function downloadCommand(invocation: Invocation, context: CliContext): Promise<number> {
  const assetId = operand(invocation, 'ASSET_ID');
  const api = context.api();
  const output = invocation.values.output ?? path.basename((await getAsset(api, assetId)).filename);
  if (output === '-') {
    if (context.json) throw new UploadClientError('usage', '--json and -o - both want stdout');
    await downloadToStream(api, assetId, process.stdout);
    return EXIT.ok;
  }
  if (invocation.values.force !== true && (await exists(output))) {
    throw new UploadClientError('usage', `${output} exists; pass --force to overwrite it, or -o another file`);
  }
  const bar = context.progress(path.basename(output));
  const meter = new ProgressMeter();
  try {
    const { bytes } = await downloadToFile(api, assetId, output, {
      onProgress: (received, total) => bar.update(meter.update(received, total)),
    });
    bar.stop();
    context.print({ assetId, file: output, bytes }, `saved ${output} (${formatBytes(bytes)})`);
    return EXIT.ok;
  } finally {
    bar.stop();
  }
}

export async function tokenCommand(invocation: Invocation, context: CliContext): Promise<number> {
  const { sub, ttl } = invocation.values;
  if (!sub) throw new UploadClientError('usage', '--sub is required (the owner the token stands for)');
  const { token, expiresAt } = await mintDevToken({
    sub,
    ttlSeconds: ttl === undefined ? 86_400 : parseDuration(ttl, '--ttl'),
    dataDir: invocation.values['data-dir'],
  });
  context.print({ token, sub, expiresAt: expiresAt.toISOString() }, token);
  return EXIT.ok;
}
