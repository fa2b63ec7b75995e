// The "limit" server: just enough tus for tus-js-client (OPTIONS, POST, HEAD, PATCH) and nothing
// else, keeping ours' durability and integrity promise with the least work. A PATCH body goes
// straight into the upload's file through two 4 MiB buffers (one filling while the other is written
// positionally). It hashes what ours hashes: a sha256 of every 10 MiB chunk (ours' default chunk
// size) and of the whole file, each in one pass over the bytes as they arrive. Like ours it makes
// progress durable at every chunk boundary and at the end of each PATCH, so an interrupted PATCH
// resumes from its last chunk: the file is synced up to there, then the new offset (and the chunk's
// digest) is appended to one journal file and synced, its smallest durable record. Both steps are
// group commits: the syncs of all uploads committing together run side by side, one journal append
// and one sync serve them all, and a chunk's commit overlaps with receiving the next. No database,
// no auth. Env: PORT, HOST, DATA_DIR.
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

/**
 * Feeds `data`, which starts at upload offset `at`, to the file's and the chunks' digests; returns
 * the end offsets of the chunks it completed.
 */
function digest(upload: UploadState, data: Buffer, at: number): number[] {
  const completed: number[] = [];
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
      completed.push(end);
    }
  }
  if (at + data.length === upload.length) upload.fileDigest = upload.fileHash.digest('hex');
  return completed;
}

const uploads = new Map<string, UploadState>();

interface PendingCommit {
  upload: UploadState;
  offset: number;
  /** The journal line that records it. */
  record: string;
  done: (error?: unknown) => void;
}

// Group commit as our server does it: each upload's sync starts at once; the synced uploads'
// records are appended to the journal in one write and one sync, while later ones gather for the
// next batch.
let pending: PendingCommit[] = [];
let committing = false;
let journal: FileHandle | undefined;

function commit(file: FileHandle, id: string, upload: UploadState, offset: number, chunk?: number): Promise<void> {
  const digest = chunk === undefined ? '' : ` ${chunk} ${upload.chunkDigests[chunk - 1]}`;
  const record = `${id} ${offset}${digest}\n`;
  return new Promise((resolve, reject) => {
    file.datasync().then(() => {
      pending.push({ upload, offset, record, done: (error) => (error ? reject(error) : resolve()) });
      if (!committing) {
        committing = true;
        setImmediate(() => void commitAll());
      }
    }, reject);
  });
}

async function commitAll(): Promise<void> {
  while (pending.length > 0) {
    const batch = pending;
    pending = [];
    try {
      journal ??= await open(path.join(dataDir, 'journal'), 'a');
      await journal.write(batch.map((p) => p.record).join(''));
      await journal.datasync();
    } catch (error) {
      for (const p of batch) p.done(error);
      continue;
    }
    for (const p of batch) {
      p.upload.offset = Math.max(p.upload.offset, p.offset);
      p.done();
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

/**
 * Streams the request body into `file` from the upload's offset, committing each chunk completed on
 * the way once its bytes are written (while the next arrive), and the end of the body last.
 */
async function receive(req: http.IncomingMessage, file: FileHandle, id: string, upload: UploadState): Promise<void> {
  const limit = upload.length;
  let filling = Buffer.allocUnsafe(BUFFER_SIZE);
  let spare = Buffer.allocUnsafe(BUFFER_SIZE);
  let filled = 0;
  let position = upload.offset;
  let writing: Promise<void> = Promise.resolve();
  /** Chunk ends whose bytes are not all handed to a write yet. */
  const completed: number[] = [];
  let committed: Promise<void> = Promise.resolve();
  const commitWritten = (written: Promise<void>) => {
    while (completed.length > 0 && (completed[0] ?? 0) <= position) {
      const end = completed.shift() ?? 0;
      const chunk = Math.ceil(end / CHUNK_SIZE);
      committed = committed.then(() => written).then(() => commit(file, id, upload, end, chunk));
      committed.catch(() => {});
    }
  };
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
    commitWritten(writing);
  };
  try {
    for await (const data of req as AsyncIterable<Buffer>) {
      if (position + filled + data.length > limit) throw new Error('body runs past Upload-Length');
      completed.push(...digest(upload, data, position + filled));
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
    await committed;
    if (position > upload.offset) await commit(file, id, upload, position);
  } catch (error) {
    await writing.catch(() => {});
    await committed.catch(() => {});
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
      await receive(req, file, id, upload);
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
