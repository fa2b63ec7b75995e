// The seed's REST API for chunked uploads, over the same sessions and store as tus: initiate,
// status, chunk by number (any order, several at once), complete, pause, resume, cancel, list.
import express, { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { UPLOAD_STATUSES, type UploadSession } from '../../db/schema.js';
import type { SessionRepository } from '../../db/session-repository.js';
import { UploadError } from '../../store/errors.js';
import type { UploadService } from '../../store/upload-service.js';
import { parseUploadChecksum } from '../../store/write/checksum.js';
import { principalOf } from '../http/auth.js';
import type { PublicUrls } from '../http/public-url.js';
import type { WriteSlots } from '../http/write-slots.js';
import { assetView } from './asset-view.js';
import { sessionView } from './session-view.js';
import { parseOrThrow } from './validate.js';

export interface ChunkedUploadDeps {
  /** Listing only: every read or change of one session goes through the service. */
  sessions: SessionRepository;
  service: UploadService;
  writeSlots: WriteSlots;
  tusPath: string;
  /** upload_url follows the same rule as the tus Location. */
  urls: PublicUrls;
}

const InitiateBody = z.object({
  filename: z.string().min(1, 'is required').max(1024),
  file_size: z
    .number()
    .int('must be a whole number of bytes')
    .min(0, 'must not be negative')
    .max(Number.MAX_SAFE_INTEGER),
  asset_type: z.string().min(1).max(32),
  content_type: z.string().max(255).optional(),
  chunk_size: z.number().int('must be a whole number of bytes').positive().optional(),
  metadata: z.record(z.string().max(64), z.string().max(4096)).optional(),
});

const ListQuery = z.object({
  status: z.enum(UPLOAD_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

const ChunkQuery = z.object({
  chunk_number: z
    .string({ message: 'is required' })
    .regex(/^-?\d{1,9}$/, 'must be a whole number')
    .transform(Number),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits')
    .optional(),
});

export function chunkedUploadRoutes(deps: ChunkedUploadDeps): Router {
  const { service } = deps;
  const router = Router();
  const json = express.json({ limit: '64kb' });
  const owner = (req: Request) => principalOf(req).sub;
  const view = (req: Request, session: UploadSession) => sessionView(session, uploadUrl(deps, req, session.id));

  router.post('/', json, (req, res) => initiate(deps, req, res));
  router.get('/', (req, res) => list(deps, req, res));
  router.get('/:id', async (req, res) => {
    res.json(view(req, await service.get(owner(req), String(req.params.id))));
  });
  router.post('/:id/chunk', (req, res) => putChunk(deps, req, res));
  router.post('/:id/complete', async (req, res) => {
    res.json(assetView(await service.complete(owner(req), String(req.params.id))));
  });
  // the seed's lifecycle changes; resuming something not paused is a mistake (see the service)
  const changes = { pause: 'paused', resume: 'uploading', cancel: 'cancelled' } as const;
  for (const [action, to] of Object.entries(changes)) {
    router.post(`/:id/${action}`, async (req, res) => {
      res.json(view(req, await service.transition(owner(req), String(req.params.id), to)));
    });
  }
  return router;
}

const uploadUrl = (deps: ChunkedUploadDeps, req: Request, id: string) => deps.urls.of(req, `${deps.tusPath}/${id}`);

async function initiate(deps: ChunkedUploadDeps, req: Request, res: Response): Promise<void> {
  const body = parseOrThrow(InitiateBody, req.body, 'upload session');
  const session = await deps.service.create(principalOf(req).sub, {
    length: body.file_size,
    metadata: {
      ...body.metadata,
      filename: body.filename,
      asset_type: body.asset_type,
      ...(body.content_type ? { filetype: body.content_type } : {}),
      ...(body.chunk_size ? { chunk_size: String(body.chunk_size) } : {}),
    },
  });
  res.status(201).json({
    session_id: session.id,
    upload_url: uploadUrl(deps, req, session.id),
    chunk_size: session.chunkSize,
    total_chunks: session.totalChunks,
    status: session.status,
    expires_at: session.expiresAt.toISOString(),
  });
}

async function list(deps: ChunkedUploadDeps, req: Request, res: Response): Promise<void> {
  const query = parseOrThrow(ListQuery, req.query, 'query');
  const owner = principalOf(req).sub;
  const [rows, total] = await Promise.all([
    deps.sessions.listByOwner(owner, query),
    deps.sessions.countByOwner(owner, query.status),
  ]);
  res.json({
    sessions: rows.map((s) => sessionView(s, uploadUrl(deps, req, s.id))),
    total,
    limit: query.limit,
    offset: query.offset,
  });
}

async function putChunk(deps: ChunkedUploadDeps, req: Request, res: Response): Promise<void> {
  const id = String(req.params.id);
  const { chunk_number, sha256 } = parseOrThrow(ChunkQuery, req.query, 'chunk query');
  const header = req.headers['upload-checksum'];
  const checksum =
    typeof header === 'string'
      ? parseUploadChecksum(header)
      : sha256
        ? { algorithm: 'sha256' as const, digest: Buffer.from(sha256, 'hex') }
        : undefined;
  const owner = principalOf(req).sub;
  const updated = await deps.writeSlots
    .run(owner, () => deps.service.putChunk(owner, id, chunk_number, req, checksum))
    .catch(asSeedError);
  res.json(sessionView(updated, uploadUrl(deps, req, id)));
}

/** tus answers 410 for a session that ended; the seed's REST API calls it invalid_state. */
function asSeedError(error: unknown): never {
  if (error instanceof UploadError && error.type === 'gone') {
    throw new UploadError('invalid_state', `${error.message}; it takes no chunks`);
  }
  throw error;
}
