// Single-shot POST /storage/upload: a raw body with ?filename=&asset_type=, and multipart forms
// shaped like the seed's clients (file first, then asset_type); bodies over SINGLE_UPLOAD_MAX or the
// asset type's limit get 413 payload_too_large and leave nothing behind.
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { sha256 } from '../../helpers/files.js';
import { type AssetView, expectError, json, type Reply, uniqueOwner } from '../../helpers/rest.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';

const KiB = 1024;
const MiB = 1024 * KiB;

function streamOf(data: Buffer, pieces = 4): ReadableStream<Uint8Array> {
  const size = Math.ceil(data.length / pieces);
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= data.length) {
        controller.close();
        return;
      }
      controller.enqueue(new Uint8Array(data.subarray(at, at + size)));
      at += size;
    },
  });
}

function form(parts: ({ file: Buffer; name: string; type?: string } | { field: string; value: string })[]): FormData {
  const body = new FormData();
  for (const part of parts) {
    if ('file' in part)
      body.append('file', new Blob([new Uint8Array(part.file)], { type: part.type ?? '' }), part.name);
    else body.append(part.field, part.value);
  }
  return body;
}

describe('single-shot POST /storage/upload', () => {
  let server: TestServer;
  let api: StorageApi;

  before(async () => {
    server = await startTestServer({ SINGLE_UPLOAD_MAX: '1MiB', ASSET_TYPE_LIMITS: 'image=512KiB' });
  });
  after(async () => {
    await server.stop();
  });
  beforeEach(() => {
    api = new StorageApi(server.url, uniqueOwner('frank'));
  });

  async function created(reply: Reply, data: Buffer): Promise<AssetView> {
    expect(reply.status, reply.text).to.equal(201);
    const asset = json<AssetView>(reply);
    expect(asset).to.include({ size: data.length, sha256: sha256(data) });
    expect(await api.asset(asset.asset_id)).to.deep.equal(asset);
    const download = await api.download(asset.asset_id);
    expect(download.bytes.equals(data), 'downloaded bytes equal the source').to.equal(true);
    return asset;
  }

  /** The owner has no unfinished session and no data file left from a refused upload. */
  async function expectNothingLeft(): Promise<void> {
    for (const status of ['initiated', 'uploading', 'paused']) {
      expect((await api.list(`status=${status}`)).total, status).to.equal(0);
    }
    const ids = new Set((await api.list()).sessions.map((s) => s.session_id));
    const files = await readdir(path.join(server.dataDir, 'uploads'));
    expect(files.filter((f) => ids.has(f))).to.deep.equal([]);
  }

  describe('raw body', () => {
    it('creates an asset with the filename, asset_type and content_type from the query', async () => {
      const data = randomBytes(300 * KiB);
      const reply = await api.uploadRaw(data, {
        filename: 'level1.glb',
        asset_type: 'model',
        content_type: 'model/gltf-binary',
      });
      const asset = await created(reply, data);
      expect(asset).to.include({ filename: 'level1.glb', asset_type: 'model', content_type: 'model/gltf-binary' });
      expect(asset.session_id).to.be.a('string');
      expect((await api.status(asset.session_id ?? '')).status).to.equal('completed');
    });

    it('takes a body without Content-Length (chunked transfer encoding)', async () => {
      const data = randomBytes(200 * KiB + 7);
      const asset = await created(await api.uploadRaw(streamOf(data), { filename: 'streamed.bin' }), data);
      expect(asset).to.include({ filename: 'streamed.bin', asset_type: 'other' });
    });

    it('takes a body of exactly SINGLE_UPLOAD_MAX and an empty one', async () => {
      const max = randomBytes(MiB);
      await created(await api.uploadRaw(max, { filename: 'max.bin' }), max);
      const empty = Buffer.alloc(0);
      await created(await api.uploadRaw(empty, { filename: 'empty.bin' }), empty);
    });

    it('refuses an unknown asset_type with 400 validation_error', async () => {
      expectError(
        await api.uploadRaw(randomBytes(10), { filename: 'a.bin', asset_type: 'spreadsheet' }),
        400,
        'validation_error',
      );
      await expectNothingLeft();
    });
  });

  describe('multipart form', () => {
    it('applies asset_type sent after the file part, as the seed clients send it', async () => {
      const data = randomBytes(100 * KiB);
      const reply = await api.uploadForm(
        form([
          { file: data, name: 'sky.png', type: 'image/png' },
          { field: 'asset_type', value: 'image' },
        ]),
      );
      const asset = await created(reply, data);
      expect(asset).to.include({ filename: 'sky.png', asset_type: 'image', content_type: 'image/png' });
    });

    it('keeps a UTF-8 file name as sent, in the asset and in Content-Disposition', async () => {
      const data = randomBytes(1000);
      const reply = await api.uploadForm(form([{ file: data, name: 'Grüße 2026.txt', type: 'text/plain' }]));
      expect(await created(reply, data)).to.include({ filename: 'Grüße 2026.txt' });
    });

    it('applies asset_type sent before the file part', async () => {
      const data = randomBytes(1000);
      const reply = await api.uploadForm(
        form([
          { field: 'asset_type', value: 'audio' },
          { file: data, name: 'beep.wav', type: 'audio/wav' },
        ]),
      );
      expect(await created(reply, data)).to.include({ filename: 'beep.wav', asset_type: 'audio' });
    });

    it('refuses a form without a file part with 400 validation_error', async () => {
      expectError(await api.uploadForm(form([{ field: 'asset_type', value: 'image' }])), 400, 'validation_error');
      await expectNothingLeft();
    });

    it('refuses an unknown asset_type after the file with 400 validation_error and keeps no asset', async () => {
      const reply = await api.uploadForm(
        form([
          { file: randomBytes(1000), name: 'x.bin' },
          { field: 'asset_type', value: 'spreadsheet' },
        ]),
      );
      expectError(reply, 400, 'validation_error');
      await expectNothingLeft();
      const ownerDir = path.join(server.dataDir, 'assets', api.owner ?? '');
      const left = await readdir(ownerDir).catch(() => []);
      expect(left, 'no asset directory left').to.deep.equal([]);
    });
  });

  describe('limits', () => {
    it('refuses a raw body over SINGLE_UPLOAD_MAX with 413 payload_too_large pointing to the chunked routes', async () => {
      for (const size of [MiB + 1, 3 * MiB]) {
        const message = expectError(
          await api.uploadRaw(randomBytes(size), { filename: 'big.bin' }),
          413,
          'payload_too_large',
        );
        expect(message, `${size} bytes`).to.include('/storage/chunked-upload');
      }
      await expectNothingLeft();
    });

    it('refuses a streamed body that grows past SINGLE_UPLOAD_MAX with 413 payload_too_large', async () => {
      const message = expectError(
        await api.uploadRaw(streamOf(randomBytes(MiB + 64 * KiB), 17), { filename: 'big.bin' }),
        413,
        'payload_too_large',
      );
      expect(message).to.include('/storage/chunked-upload');
      await expectNothingLeft();
    });

    it('refuses a multipart file over SINGLE_UPLOAD_MAX with 413 payload_too_large', async () => {
      for (const size of [MiB + 1, 2 * MiB]) {
        const reply = await api.uploadForm(form([{ file: randomBytes(size), name: 'big.bin' }]));
        expect(expectError(reply, 413, 'payload_too_large'), `${size} bytes`).to.include('/storage/chunked-upload');
      }
      await expectNothingLeft();
    });

    it("refuses a body over the asset type's limit with 413 payload_too_large, raw and multipart", async () => {
      const data = randomBytes(600 * KiB);
      expectError(await api.uploadRaw(data, { filename: 'p.png', asset_type: 'image' }), 413, 'payload_too_large');
      expectError(
        await api.uploadRaw(streamOf(data), { filename: 'p.png', asset_type: 'image' }),
        413,
        'payload_too_large',
      );
      const late = await api.uploadForm(
        form([
          { file: data, name: 'p.png' },
          { field: 'asset_type', value: 'image' },
        ]),
      );
      expectError(late, 413, 'payload_too_large');
      await expectNothingLeft();
      // the same bytes as another type are fine
      await created(await api.uploadRaw(data, { filename: 'p.bin', asset_type: 'texture' }), data);
    });
  });
});
