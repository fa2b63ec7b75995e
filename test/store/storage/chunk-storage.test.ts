// Runs the ChunkStorage contract against every implementation.
import { chunkStorageContract } from '../contract/chunk-storage.contract.js';
import { STORAGE_FACTORIES } from '../contract/storage-factories.js';

for (const factory of STORAGE_FACTORIES) chunkStorageContract(factory);
