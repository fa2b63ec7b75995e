// The JSON shape of an asset in REST responses.
import type { Asset } from '../../db/schema.js';

export function assetView(asset: Asset) {
  return {
    asset_id: asset.id,
    filename: asset.filename,
    size: asset.size,
    sha256: asset.sha256,
    content_type: asset.contentType,
    asset_type: asset.assetType,
    session_id: asset.sessionId,
    created_at: asset.createdAt.toISOString(),
    download_url: `/storage/assets/${asset.id}/download`,
  };
}
