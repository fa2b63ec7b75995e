// A caller's own assets after their upload: deleting one, giving it another type. The owner check
// happens where the row is read (lifecycle.ts) and again in each statement's WHERE.
import type { AssetRepository } from '../db/asset-repository.js';
import type { Asset } from '../db/schema.js';
import { ownAsset } from './lifecycle.js';
import type { ChunkStorage } from './storage/chunk-storage.js';
import type { UploadPolicy } from './upload-policy.js';

export interface AssetDeps {
  assets: AssetRepository;
  storage: ChunkStorage;
  policy: UploadPolicy;
}

/** The row first, so a crash in between leaves an orphan file (quarantined by the sweep), not a dangling row. */
export async function deleteAsset(deps: AssetDeps, ownerId: string, id: string): Promise<void> {
  const asset = await ownAsset(deps.assets, ownerId, id);
  if (!(await deps.assets.delete(ownerId, asset.id))) return;
  await deps.storage.removeAsset(asset.storagePath);
}

export async function retypeAsset(deps: AssetDeps, ownerId: string, id: string, assetType: string): Promise<Asset> {
  const asset = await ownAsset(deps.assets, ownerId, id);
  deps.policy.assertSize(assetType, asset.size);
  return (await deps.assets.setAssetType(ownerId, id, assetType)) ?? asset;
}
