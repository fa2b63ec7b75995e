// Hostile input: SQL-looking file names and parameters, taken as plain text or refused with a 4xx;
// the tables stay whole.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { removeDir } from '../../helpers/files.js';
import { type AssetView, expectError, type Reply, uniqueOwner } from '../../helpers/rest.js';
import type { TestServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';
import { tusMetadata, tusPatch, tusSend } from '../../helpers/tus-send.js';
import { snapshotUpload } from '../../helpers/uploads.js';
import { expect4xx, startHostileServer } from './setup.js';

describe('hostile input', () => {
  let parent: string;
  let server: TestServer;

  before(async () => {
    ({ parent, server } = await startHostileServer());
  });
  after(async () => {
    await server.stop();
    await removeDir(parent);
  });

  describe('SQL-looking input', () => {
    const SQL = [
      "'; DROP TABLE upload_sessions; --",
      "Robert'); DROP TABLE assets;--.png",
      '" OR 1=1 --',
      "' UNION SELECT owner_id, filename FROM upload_sessions --",
      '1; SELECT pg_sleep(10)',
      '$1 $$ ; \\ %',
    ];

    it('stores SQL-looking file names verbatim through tus, REST and single-shot, and the tables stay whole', async () => {
      const owner = uniqueOwner('sql');
      const api = new StorageApi(server.url, owner);
      const data = randomBytes(64);
      for (const filename of SQL) {
        const created = await tusSend('POST', server.tusUrl, owner, {
          'Upload-Length': String(data.length),
          'Upload-Metadata': tusMetadata({ filename }),
        });
        expect(created.status, created.text).to.equal(201);
        const url = new URL(created.headers.get('location') ?? '', server.tusUrl).toString();
        const patched = await tusPatch(url, owner, 0, data);
        expect(patched.status, patched.text).to.equal(204);
        const viaTus = await api.asset(patched.headers.get('upload-asset-id') ?? '');
        const session = await api.initiate({ filename, file_size: data.length });
        await api.chunk(session.session_id, 1, data);
        const viaRest = await api.complete(session.session_id);
        const single = await api.uploadRaw(data, { filename });
        expect(single.status, single.text).to.equal(201);
        const viaSingle = JSON.parse(single.text) as AssetView;
        for (const asset of [viaTus, viaRest, viaSingle]) {
          // the stored name drops only what a path cannot hold (separators, leading dots)
          expect(asset.filename).to.equal(filename.split(/[/\\]/).pop()?.trim());
        }
      }
      const list = await api.list('limit=200');
      expect(list.total).to.equal(SQL.length * 3);
      expect(await server.sessions.countByStatus()).to.have.property('completed');
    });

    it('answers 4xx to SQL-looking query parameters, ids and subjects, and shows nobody else anything', async () => {
      const owner = uniqueOwner('sql');
      const api = new StorageApi(server.url, owner);
      const session = await api.initiate({ filename: 'mine.bin', file_size: 10 });
      const before = await snapshotUpload(server, session.session_id);
      const replies: Reply[] = [];
      for (const injection of SQL) {
        const q = encodeURIComponent(injection);
        replies.push(await api.listRaw(`status=${q}`));
        replies.push(await api.listRaw(`limit=${q}`));
        replies.push(await api.listRaw(`offset=${q}`));
        replies.push(await api.chunkRaw(session.session_id, q, Buffer.from('x')));
        replies.push(
          await api.request('POST', `/storage/chunked-upload/${session.session_id}/chunk?chunk_number=1&sha256=${q}`, {
            body: Buffer.alloc(10),
          }),
        );
        replies.push(await api.statusRaw(q));
        replies.push(await api.assetRaw(q));
      }
      for (const reply of replies) expect4xx(reply.status, reply.text);
      expect(await snapshotUpload(server, session.session_id)).to.deep.equal(before);

      // a subject that looks like SQL is just a name: it owns nothing of anybody else's
      for (const sub of SQL) {
        const list = await api.as(sub).list();
        expect(list.sessions.every((s) => s.session_id !== session.session_id)).to.equal(true);
        expectError(await api.as(sub).statusRaw(session.session_id), 403, 'forbidden');
      }
    });
  });
});
