// The "limit" server: just enough tus for tus-js-client (OPTIONS, POST, HEAD, PATCH) and nothing
// else. A PATCH body goes straight into the upload's file through two 4 MiB buffers (one filling
// while the other is written positionally) and one fdatasync at the end, grouped with the other
// uploads' as ours are (group commit: the syncs of all PATCHes ending together run side by side and
// their offsets move in one step once all are durable). It hashes what ours promises to hash: a
// sha256 of every 10 MiB chunk (ours' default chunk size) and of the whole file, each in one pass
// over the bytes as they arrive. No database, no auth: it stands for what Node can do on this
// disk while keeping the same durability and integrity promise. Env: PORT, HOST, DATA_DIR.
import { createHash, type Hash, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';

const BUFFER_SIZE = 4 * 1024 * 1024;
const CHUNK_SIZE = 10 * 1024 * 1024;
const PREFIX = '/files';
const dataDir = path.resolve(process.env.DATA_DIR ?? './data-limit');
const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';

interface UploadState {
  length: number;
  offset: number;
  /** sha256 of the whole file and of the chunk being filled, fed in stream order. */
  fileHash: Hash;
  chunkHash: Hash;
  chunkDigests: string[];
  fileDigest?: string;
}

/** Feeds `data`, which starts at upload offset `at`, to the file's and the chunks' digests. */
function digest(upload: UploadState, data: Buffer, at: number): void {
  upload.fileHash.update(data);
  let from = 0;
  while (from < data.length) {
    const room = CHUNK_SIZE - ((at + from) % CHUNK_SIZE);
    const piece = data.subarray(from, from + room);
    upload.chunkHash.update(piece);
    from += piece.length;
    const end = at + from;
    if (end % CHUNK_SIZE === 0 || end === upload.length) {
      upload.chunkDigests.push(upload.chunkHash.digest('hex'));
      upload.chunkHash = createHash('sha256');
    }
  }
  if (at + data.length === upload.length) upload.fileDigest = upload.fileHash.digest('hex');
}

const uploads = new Map<string, UploadState>();

interface PendingCommit {
  file: FileHandle;
  upload: UploadState;
  offset: number;
  done: (error?: unknown) => void;
}

// Group commit as our server does it: each PATCH's sync starts at once; the batch's offsets are
// recorded together when its syncs are done, while later PATCHes gather for the next batch.
let pending: PendingCommit[] = [];
let committing = false;

function commit(file: FileHandle, upload: UploadState, offset: number): Promise<void> {
  return new Promise((resolve, reject) => {
    pending.push({ file, upload, offset, done: (error) => (error ? reject(error) : resolve()) });
    if (!committing) {
      committing = true;
      setImmediate(() => void commitAll());
    }
  });
}

async function commitAll(): Promise<void> {
  while (pending.length > 0) {
    const batch = pending;
    pending = [];
    const synced = await Promise.allSettled(batch.map((p) => p.file.datasync()));
    for (const [i, p] of batch.entries()) {
      const outcome = synced[i];
      if (outcome?.status === 'rejected') p.done(outcome.reason);
      else {
        p.upload.offset = p.offset;
        p.done();
      }
    }
  }
  committing = false;
}
const tusHeaders = { 'Tus-Resumable': '1.0.0' };

async function writeFully(file: FileHandle, buffer: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await file.write(buffer, done, length - done, position + done);
    done += bytesWritten;
  }
}

/** Streams the request body into `file` from `start`; resolves with the end offset it wrote. */
async function receive(req: http.IncomingMessage, file: FileHandle, upload: UploadState): Promise<number> {
  const start = upload.offset;
  const limit = upload.length;
  let filling = Buffer.allocUnsafe(BUFFER_SIZE);
  let spare = Buffer.allocUnsafe(BUFFER_SIZE);
  let filled = 0;
  let position = start;
  let writing: Promise<void> = Promise.resolve();
  const flush = async () => {
    await writing;
    const full = filling;
    const at = position;
    const length = filled;
    position += length;
    filling = spare;
    spare = full;
    filled = 0;
    writing = writeFully(file, full, length, at);
    writing.catch(() => {});
  };
  try {
    for await (const data of req as AsyncIterable<Buffer>) {
      if (position + filled + data.length > limit) throw new Error('body runs past Upload-Length');
      digest(upload, data, position + filled);
      let from = 0;
      while (from < data.length) {
        const copied = data.copy(filling, filled, from);
        filled += copied;
        from += copied;
        if (filled === BUFFER_SIZE) await flush();
      }
    }
    if (filled > 0) await flush();
    await writing;
    return position;
  } catch (error) {
    await writing.catch(() => {});
    throw error;
  }
}

function reply(res: http.ServerResponse, status: number, headers: Record<string, string> = {}, body = ''): void {
  res.writeHead(status, { ...tusHeaders, ...headers, 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (!url.pathname.startsWith(PREFIX)) return reply(res, 404);
  const id = url.pathname.slice(PREFIX.length).replace(/^\//, '');

  if (req.method === 'OPTIONS') {
    return reply(res, 204, { 'Tus-Version': '1.0.0', 'Tus-Extension': 'creation' });
  }
  if (req.method === 'POST' && id === '') {
    const length = Number(req.headers['upload-length']);
    if (!Number.isSafeInteger(length) || length < 0) return reply(res, 400, {}, 'Upload-Length required\n');
    const newId = randomUUID();
    await (await open(path.join(dataDir, newId), 'w')).close();
    uploads.set(newId, {
      length,
      offset: 0,
      fileHash: createHash('sha256'),
      chunkHash: createHash('sha256'),
      chunkDigests: [],
    });
    req.resume();
    return reply(res, 201, { Location: `${PREFIX}/${newId}` });
  }
  const upload = uploads.get(id);
  if (!upload) {
    req.resume();
    return reply(res, 404);
  }
  if (req.method === 'HEAD') {
    return reply(res, 200, {
      'Upload-Offset': String(upload.offset),
      'Upload-Length': String(upload.length),
      'Cache-Control': 'no-store',
    });
  }
  if (req.method === 'PATCH') {
    if (Number(req.headers['upload-offset']) !== upload.offset) {
      req.resume();
      return reply(res, 409, {}, 'offset mismatch\n');
    }
    const file = await open(path.join(dataDir, id), 'r+');
    try {
      await commit(file, upload, await receive(req, file, upload));
    } finally {
      await file.close();
    }
    return reply(res, 204, { 'Upload-Offset': String(upload.offset) });
  }
  req.resume();
  return reply(res, 405);
}

mkdirSync(dataDir, { recursive: true });
const server = http.createServer({ requestTimeout: 0 }, (req, res) => {
  handle(req, res).catch((error: unknown) => {
    if (!res.headersSent) reply(res, 500, {}, `${String(error)}\n`);
    else res.destroy();
  });
});
server.listen(port, host, () => {
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  console.log(JSON.stringify({ msg: 'listening', server: 'limit', port: actual }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
