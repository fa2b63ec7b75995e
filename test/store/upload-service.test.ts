// Runs the UploadService contract over every ChunkStorage implementation.

import { STORAGE_FACTORIES } from './contract/storage-factories.js';
import { uploadServiceContract } from './contract/upload-service.contract.js';

for (const factory of STORAGE_FACTORIES) uploadServiceContract(factory);
