// Uploads one file with tus-js-client and prints the id of the asset the server made from it.
//
//   TOKEN=$(npm run --silent token -- --sub alice) node docs/examples/tus-upload.mjs photo.jpg
//
// TUS_URL  the tus endpoint (default http://127.0.0.1:1080/files)
// TOKEN    a bearer token (required)
import { createReadStream, statSync } from 'node:fs';
import path from 'node:path';
import { Upload } from 'tus-js-client';

const file = process.argv[2];
const endpoint = process.env.TUS_URL || 'http://127.0.0.1:1080/files';
const token = process.env.TOKEN;
if (!file || !token) {
  console.error('usage: TOKEN=... [TUS_URL=...] node tus-upload.mjs FILE');
  process.exit(2);
}

let assetId = null;
let shown = -1;
const upload = new Upload(createReadStream(file), {
  endpoint,
  uploadSize: statSync(file).size,
  chunkSize: 5 * 1024 * 1024,
  headers: { Authorization: `Bearer ${token}` },
  metadata: { filename: path.basename(file) },
  retryDelays: [0, 1000, 3000, 5000],
  onProgress(sent, total) {
    const percent = total > 0 ? Math.floor((sent / total) * 100) : 100;
    if (percent === shown) return;
    shown = percent;
    console.log(`progress=${percent}%`);
  },
  onAfterResponse(_req, res) {
    // the PATCH that completes the upload answers with the asset id
    const id = res.getHeader('Upload-Asset-Id');
    if (id) assetId = id;
  },
  onError(error) {
    console.error(`upload failed: ${error.message}`);
    process.exit(1);
  },
  onSuccess() {
    console.log(`upload_url=${upload.url}`);
    console.log(`asset_id=${assetId}`);
  },
});
upload.start();
