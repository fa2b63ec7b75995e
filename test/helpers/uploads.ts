// What the server holds for an upload and an asset, read from the database and DATA_DIR, so tests
// can check that a request changed nothing, or that an asset equals its source.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import type { AssetRepository } from '../../db/asset-repository.js';
import type { Asset, ChunkDigests, UploadStatus } from '../../db/schema.js';
import type { SessionRepository } from '../../db/session-repository.js';
import { filesEqual, sha256File } from './files.js';

export interface UploadSnapshot {
  status: UploadStatus;
  offset: number;
  uploadLength: number | null;
  chunks: ChunkDigests;
  assetId: string | null;
  /** Size and sha256 of the upload's data file, or null when there is none. */
  dataSize: number | null;
  dataSha256: string | null;
}

export interface StorageView {
  dataDir: string;
  sessions: SessionRepository;
  assets: AssetRepository;
}

export function dataFileOf(dataDir: string, id: string): string {
  return path.join(dataDir, 'uploads', id);
}

/** The session row's progress and the bytes on disk; throws when the session does not exist. */
export async function snapshotUpload(view: StorageView, id: string): Promise<UploadSnapshot> {
  const session = await view.sessions.find(id);
  if (!session) throw new Error(`no session ${id}`);
  const file = dataFileOf(view.dataDir, id);
  const size = await stat(file).then(
    (s) => s.size,
    () => null,
  );
  return {
    status: session.status,
    offset: session.uploadOffset,
    uploadLength: session.uploadLength,
    chunks: session.chunks,
    assetId: session.assetId,
    dataSize: size,
    dataSha256: size === null ? null : await sha256File(file),
  };
}

/** Every file under `dir`, relative to it. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

/**
 * Checks the asset row and its file: the file sits under DATA_DIR/assets, is byte-identical to
 * `source`, and the row's sha256 and size are the source's. Returns the row.
 */
export async function expectAssetOf(view: StorageView, assetId: string | null, source: string): Promise<Asset> {
  expect(assetId, 'Upload-Asset-Id').to.be.a('string');
  const asset = await view.assets.find(assetId ?? '');
  if (!asset) throw new Error(`no assets row ${assetId}`);
  expect(path.isAbsolute(asset.storagePath), 'storagePath is relative to DATA_DIR').to.equal(false);
  const file = path.resolve(view.dataDir, asset.storagePath);
  expect(file.startsWith(path.join(path.resolve(view.dataDir), 'assets') + path.sep), file).to.equal(true);
  expect(await filesEqual(file, source), 'asset bytes equal the source').to.equal(true);
  expect(asset.sha256).to.equal(await sha256File(source));
  expect(asset.size).to.equal((await stat(source)).size);
  return asset;
}
