// Run as a child process by the resume tests: uploads one file with the SDK and prints the result
// as JSON. Usage: node --import tsx upload-child.ts ENDPOINT TOKEN FILE RESUME_FILE CHUNK_SIZE
import { upload } from '../../client-sdk/index.js';

const [endpoint, token, file, resumeFile, chunkSize] = process.argv.slice(2);
if (!endpoint || !token || !file || !resumeFile || !chunkSize) {
  console.error('usage: upload-child.ts ENDPOINT TOKEN FILE RESUME_FILE CHUNK_SIZE');
  process.exit(2);
}
const result = await upload(file, { endpoint, token, resumeFile, chunkSize: Number(chunkSize) });
console.log(JSON.stringify(result));
