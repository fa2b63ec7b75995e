// Hostile input: tokens whose subject the database cannot hold, and one user trying every other
// user's ids (real and guessed): every answer is a 4xx and nobody else's upload or asset changes.
import { randomBytes, randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { removeDir, sha256 } from '../../helpers/files.js';
import { requestRawPath } from '../../helpers/raw-http.js';
import { type AssetView, bearer, type InitiateReply, uniqueOwner } from '../../helpers/rest.js';
import type { TestServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';
import { tokenFor } from '../../helpers/tokens.js';
import { tusMetadata, tusPatch, tusSend } from '../../helpers/tus-send.js';
import { snapshotUpload, type UploadSnapshot } from '../../helpers/uploads.js';
import { idRoutes, startHostileServer } from './setup.js';

describe('hostile input', () => {
  let parent: string;
  let dataDir: string;
  let server: TestServer;

  before(async () => {
    ({ parent, dataDir, server } = await startHostileServer());
  });
  after(async () => {
    await server.stop();
    await removeDir(parent);
  });

  describe('tokens', () => {
    it('answers 401 to a correctly signed token whose subject the database cannot hold (NUL), creating nothing', async () => {
      const uploadsBefore = await readdir(path.join(dataDir, 'uploads'));
      for (const sub of ['a\u0000b', '\u0000']) {
        const token = tokenFor(sub);
        const list = await requestRawPath(server.url, 'GET', '/storage/chunked-upload', bearer(sub, token));
        expect(list.status, list.body).to.equal(401);
        expect(list.headers['x-error-type'], 'the error type').to.equal('unauthorized');
        const created = await tusSend('POST', server.tusUrl, null, {
          ...bearer(sub, token),
          'Upload-Length': '3',
        });
        expect(created.status, created.text).to.equal(401);
        expect(created.headers.get('x-error-type'), 'the error type').to.equal('unauthorized');
      }
      expect(await readdir(path.join(dataDir, 'uploads'))).to.deep.equal(uploadsBefore);
    });
  });

  describe("one user trying every other user's ids", () => {
    interface Victim {
      api: StorageApi;
      tusUpload: { id: string; url: string };
      session: InitiateReply;
      asset: AssetView;
      data: Buffer;
    }

    async function victim(name: string): Promise<Victim> {
      const api = new StorageApi(server.url, uniqueOwner(name));
      const owner = api.owner ?? '';
      const data = randomBytes(3000);
      const created = await tusSend('POST', server.tusUrl, owner, {
        'Upload-Length': String(data.length),
        'Upload-Metadata': tusMetadata({ filename: `${name}-secret-tus.bin` }),
      });
      expect(created.status).to.equal(201);
      const url = new URL(created.headers.get('location') ?? '', server.tusUrl).toString();
      expect((await tusPatch(url, owner, 0, data.subarray(0, 1000))).status).to.equal(204);
      const session = await api.initiate({ filename: `${name}-secret-rest.bin`, file_size: data.length });
      const done = await api.initiate({ filename: `${name}-secret-asset.bin`, file_size: data.length });
      await api.chunk(done.session_id, 1, data);
      const asset = await api.complete(done.session_id);
      return { api, tusUpload: { id: url.split('/').pop() ?? '', url }, session, asset, data };
    }

    /** Variations of a real id an attacker might guess from it. */
    function guessesFrom(id: string): string[] {
      const last = id.at(-1) ?? '0';
      const bumped = (Number.parseInt(last, 16) + 1) % 16;
      return [
        `${id.slice(0, -1)}${bumped.toString(16)}`,
        id.toUpperCase(),
        `${id}0`,
        id.slice(0, -1),
        `%20${id}`,
        encodeURIComponent(`${id}/`),
        `${id}%20`,
      ];
    }

    it('gets 403 or 404 everywhere, learns nothing, and changes nothing', async function () {
      this.timeout(30_000);
      const victims = [await victim('vera'), await victim('victor'), await victim('vince')];
      const snapshots = new Map<string, UploadSnapshot>();
      for (const v of victims) {
        for (const id of [v.tusUpload.id, v.session.session_id, v.asset.session_id ?? '']) {
          snapshots.set(id, await snapshotUpload(server, id));
        }
      }
      const mallory = victims[0]?.api.as(uniqueOwner('mallory')) ?? new StorageApi(server.url, 'mallory');
      const auth = mallory.headers();

      const ids: string[] = [];
      for (const v of victims) {
        ids.push(v.tusUpload.id, v.session.session_id, v.asset.session_id ?? '', v.asset.asset_id);
        ids.push(...guessesFrom(v.tusUpload.id), ...guessesFrom(v.asset.asset_id));
      }
      ids.push(
        '0'.repeat(32),
        'f'.repeat(32),
        randomBytes(16).toString('hex'),
        randomUUID(),
        '00000000-0000-0000-0000-000000000000',
        '1',
        '*',
      );
      const secrets = victims.flatMap((v) => [
        v.api.owner ?? '',
        'secret-tus',
        'secret-rest',
        'secret-asset',
        v.data.subarray(0, 32).toString('latin1'),
      ]);
      const seen: number[] = [];
      for (const id of ids) {
        for (const [method, route, headers, body] of idRoutes(id)) {
          const reply = await requestRawPath(server.url, method, route, { ...auth, ...headers }, body);
          seen.push(reply.status);
          expect([400, 403, 404], `${method} ${route}: ${reply.status} ${reply.body.slice(0, 200)}`).to.include(
            reply.status,
          );
          for (const secret of secrets) expect(reply.body, `${method} ${route}`).to.not.include(secret);
        }
      }
      expect(seen.filter((s) => s === 403).length, 'the real ids are refused as forbidden').to.be.above(0);

      // a final upload made of someone else's parts, and listings, show nothing either
      const final = await tusSend('POST', server.tusUrl, mallory.owner, {
        'Upload-Concat': `final;/files/${victims[0]?.tusUpload.id}`,
      });
      expect([400, 403]).to.include(final.status);
      expect((await mallory.list()).total).to.equal(0);
      expect(await server.assets.listByOwner(mallory.owner ?? '', 10, 0)).to.deep.equal([]);

      for (const [id, before] of snapshots) expect(await snapshotUpload(server, id), id).to.deep.equal(before);
      for (const v of victims) {
        const download = await v.api.download(v.asset.asset_id);
        expect(sha256(download.bytes)).to.equal(sha256(v.data));
      }
    });
  });
});
