// Runs the UploadService contract, part by part, over every ChunkStorage implementation.

import { STORAGE_FACTORIES } from './contract/storage-factories.js';
import { uploadServiceDurabilityAndOwnersContract } from './contract/upload-service/durability-and-owners.contract.js';
import { uploadServiceLengthAndTerminateContract } from './contract/upload-service/length-and-terminate.contract.js';
import { uploadServiceWritesContract } from './contract/upload-service/writes.contract.js';

for (const factory of STORAGE_FACTORIES) {
  uploadServiceWritesContract(factory);
  uploadServiceLengthAndTerminateContract(factory);
  uploadServiceDurabilityAndOwnersContract(factory);
}
