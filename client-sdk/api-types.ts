// The JSON the server's storage REST API answers with, as this client reads it.

export type SessionState = 'initiated' | 'uploading' | 'paused' | 'completed' | 'failed' | 'cancelled' | 'expired';

/** GET /storage/chunked-upload/:id, and each entry of the list. */
export interface SessionStatus {
  session_id: string;
  status: SessionState;
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

/** GET /storage/chunked-upload */
export interface SessionList {
  sessions: SessionStatus[];
  total: number;
  limit: number;
  offset: number;
}

/** GET /storage/assets/:id */
export interface AssetInfo {
  asset_id: string;
  filename: string;
  size: number;
  sha256: string;
  content_type: string | null;
  asset_type: string;
  session_id: string | null;
  created_at: string;
  /** Relative to the server's base URL; needs the bearer token like every storage route. */
  download_url: string;
}
