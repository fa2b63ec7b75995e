// The JSON shape of an upload session in REST responses.
import type { UploadSession } from '../../db/schema.js';
import { missingChunks } from '../../store/chunking.js';

export interface SessionView {
  session_id: string;
  status: UploadSession['status'];
  filename: string;
  content_type: string | null;
  asset_type: string;
  file_size: number | null;
  offset: number;
  progress_percent: number;
  chunk_size: number;
  total_chunks: number | null;
  uploaded_chunks: number[];
  missing_chunks: number[];
  upload_url: string;
  created_at: string;
  updated_at: string;
  expires_at: string;
  completed_at: string | null;
  asset_id: string | null;
  error: string | null;
}

export function sessionView(session: UploadSession, uploadUrl: string): SessionView {
  const length = session.uploadLength;
  const uploaded = Object.keys(session.chunks)
    .map(Number)
    .sort((a, b) => a - b);
  const completed = session.status === 'completed';
  return {
    session_id: session.id,
    status: session.status,
    filename: session.filename,
    content_type: session.contentType,
    asset_type: session.assetType,
    file_size: length,
    offset: session.uploadOffset,
    progress_percent: length ? Math.floor((session.uploadOffset / length) * 10_000) / 100 : completed ? 100 : 0,
    chunk_size: session.chunkSize,
    total_chunks: session.totalChunks,
    uploaded_chunks: uploaded,
    missing_chunks: session.totalChunks === null ? [] : missingChunks(session.totalChunks, session.chunks),
    upload_url: uploadUrl,
    created_at: session.createdAt.toISOString(),
    updated_at: session.updatedAt.toISOString(),
    expires_at: session.expiresAt.toISOString(),
    completed_at: session.completedAt?.toISOString() ?? null,
    // a completed upload terminated through tus keeps its asset
    asset_id: completed || session.completedAt !== null ? session.assetId : null,
    error: session.error,
  };
}
