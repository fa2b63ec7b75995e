// Attacks through names and content types (#14, finding 8): a file name with bidi controls shows
// another extension than it has (`invoice<U+202E>fdp.exe` reads as `invoiceexe.pdf`), and a content
// type with CR/LF or non-Latin-1 text cannot be sent as a header, so its download answered 500.
// Each case goes through every API that names an upload, and checks what is stored, what a
// download sends, and that the bytes are the ones uploaded.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import { assets } from '../../db/schema.js';
import { sha256 } from '../helpers/files.js';
import { uniqueOwner } from '../helpers/rest.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { StorageApi } from '../helpers/storage-api.js';
import { tusMetadata, tusPatch, tusSend } from '../helpers/tus-send.js';

interface Named {
  filename: string;
  contentType?: string;
}

type Route = (server: TestServer, api: StorageApi, data: Buffer, named: Named) => Promise<string>;

/** Every way an upload gets its name and type; each resolves with the asset id. */
const ROUTES = {
  tus: async (server, api, data, { filename, contentType }) => {
    const created = await tusSend('POST', server.tusUrl, api.owner, {
      'Upload-Length': String(data.length),
      'Upload-Metadata': tusMetadata({ filename, ...(contentType === undefined ? {} : { filetype: contentType }) }),
    });
    expect(created.status, created.text).to.equal(201);
    const url = new URL(created.headers.get('location') ?? '', server.tusUrl).toString();
    const done = await tusPatch(url, api.owner ?? '', 0, data);
    expect(done.status, done.text).to.equal(204);
    return done.headers.get('upload-asset-id') ?? '';
  },
  rest: async (_server, api, data, { filename, contentType }) => {
    const session = await api.initiate({
      filename,
      file_size: data.length,
      ...(contentType === undefined ? {} : { content_type: contentType }),
    });
    await api.chunk(session.session_id, 1, data);
    return (await api.complete(session.session_id)).asset_id;
  },
  'single-shot': async (_server, api, data, { filename, contentType }) => {
    const reply = await api.uploadRaw(data, {
      filename,
      ...(contentType === undefined ? {} : { content_type: contentType }),
    });
    expect(reply.status, reply.text).to.equal(201);
    return (JSON.parse(reply.text) as { asset_id: string }).asset_id;
  },
} satisfies Record<string, Route>;

/** Names that would show something else than they are, and what must be kept of them. */
const NAMES: { attack: string; filename: string; stored: string }[] = [
  { attack: 'right-to-left override', filename: 'invoice\u202Efdp.exe', stored: 'invoicefdp.exe' },
  { attack: 'left-to-right and right-to-left marks', filename: 'report\u200E\u200F.pdf', stored: 'report.pdf' },
  { attack: 'bidi isolates', filename: '\u2066photo\u2069\u2067gpj.\u2069.scr', stored: 'photogpj..scr' },
  {
    attack: 'zero-width space, joiners and a BOM',
    filename: '\uFEFFpay\u200Bpal\u200C\u200D.html',
    stored: 'paypal.html',
  },
  { attack: 'an Arabic letter mark and a soft hyphen', filename: 'a\u061Cb\u00ADc.txt', stored: 'abc.txt' },
  { attack: 'a line separator', filename: 'one\u2028two.txt', stored: 'onetwo.txt' },
];

/** Content types that are not media types, each stored and served as application/octet-stream. */
const TYPES: { attack: string; contentType: string }[] = [
  { attack: 'CR/LF header injection', contentType: 'text/plain\r\nX-Injected: 1' },
  { attack: 'a bare LF', contentType: 'text/html\nSet-Cookie: a=b' },
  { attack: 'non-Latin-1 text in a parameter', contentType: 'text/plain; name=\u65E5\u672C' },
  { attack: 'Latin-1 text in a parameter', contentType: 'image/png; x=\u00FC' },
  { attack: 'a control character', contentType: 'text/plain\u0007' },
  { attack: 'a tab in the subtype', contentType: 'text/pl\tain' },
  { attack: 'no subtype', contentType: 'html' },
  { attack: 'a broken parameter', contentType: 'text/plain; charset' },
  { attack: 'an unterminated quoted string', contentType: 'text/plain; a="b' },
];

describe('security: names and content types', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ CHUNK_SIZE: '5MiB' });
  });
  after(async () => {
    await server?.stop();
  });

  async function download(api: StorageApi, assetId: string) {
    const reply = await api.download(assetId);
    expect(reply.status, reply.bytes.toString()).to.equal(200);
    return reply;
  }

  for (const [route, upload] of Object.entries(ROUTES)) {
    for (const { attack, filename, stored } of NAMES) {
      it(`${route}: strips ${attack} from the file name`, async () => {
        const api = new StorageApi(server.url, uniqueOwner('names'));
        const data = randomBytes(100);
        const assetId = await upload(server, api, data, { filename });
        expect((await api.asset(assetId)).filename).to.equal(stored);
        const reply = await download(api, assetId);
        // content-disposition quotes the name only when it must; none of these needs filename*=
        expect(reply.headers.get('content-disposition')).to.be.oneOf([
          `attachment; filename=${stored}`,
          `attachment; filename="${stored}"`,
        ]);
        expect(sha256(reply.bytes)).to.equal(sha256(data));
      });
    }

    for (const { attack, contentType } of TYPES) {
      it(`${route}: keeps a content type with ${attack} as application/octet-stream, and downloads it`, async () => {
        const api = new StorageApi(server.url, uniqueOwner('types'));
        const data = randomBytes(100);
        const assetId = await upload(server, api, data, { filename: 'note.txt', contentType });
        expect((await api.asset(assetId)).content_type).to.equal('application/octet-stream');
        const reply = await download(api, assetId);
        expect(reply.headers.get('content-type')).to.equal('application/octet-stream');
        expect(reply.headers.get('x-injected')).to.equal(null);
        expect(reply.headers.get('set-cookie')).to.equal(null);
        expect(sha256(reply.bytes)).to.equal(sha256(data));
      });
    }

    it(`${route}: keeps a real media type with its parameters`, async () => {
      const api = new StorageApi(server.url, uniqueOwner('types'));
      const contentType = 'text/plain; charset=utf-8; format="flowed"';
      const assetId = await upload(server, api, randomBytes(10), { filename: 'a.txt', contentType });
      expect((await api.asset(assetId)).content_type).to.equal(contentType);
      expect((await download(api, assetId)).headers.get('content-type')).to.equal(contentType);
    });
  }

  it('serves every download with Content-Security-Policy: sandbox, nosniff and as an attachment', async () => {
    const api = new StorageApi(server.url, uniqueOwner('csp'));
    const page = Buffer.from('<script>parent.document.cookie</script>');
    const assetId = await ROUTES.rest(server, api, page, { filename: 'page.html', contentType: 'text/html' });
    const session = (await api.list()).sessions[0];
    for (const url of [
      `${server.url}/storage/assets/${assetId}/download`,
      `${server.tusUrl}/${session?.session_id ?? ''}`,
    ]) {
      const reply = await fetch(url, { headers: api.headers() });
      expect(reply.status, url).to.equal(200);
      expect(reply.headers.get('content-security-policy'), url).to.equal('sandbox');
      expect(reply.headers.get('x-content-type-options'), url).to.equal('nosniff');
      expect(reply.headers.get('content-disposition'), url).to.match(/^attachment;/);
    }
  });

  describe('rows written before names and types were checked', () => {
    const LEGACY: { attack: string; contentType: string; filename: string }[] = [
      { attack: 'CR/LF in the type', contentType: 'text/html\r\nSet-Cookie: a=b', filename: 'a.html' },
      { attack: 'non-Latin-1 text in the type', contentType: 'text/plain; name=\u65E5\u672C', filename: 'b.txt' },
      { attack: 'NUL-free control text in the type', contentType: 'text/\u0001plain', filename: 'c.txt' },
      { attack: 'a bidi override in the name', contentType: 'application/pdf', filename: 'invoice\u202Efdp.exe' },
    ];
    for (const { attack, contentType, filename } of LEGACY) {
      it(`downloads an asset row with ${attack} instead of answering 500, and leaves the row as it was`, async () => {
        const api = new StorageApi(server.url, uniqueOwner('legacy'));
        const data = randomBytes(64);
        const assetId = await ROUTES.rest(server, api, data, { filename: 'x.bin' });
        await server.database.db.update(assets).set({ contentType, filename }).where(eq(assets.id, assetId));
        const reply = await download(api, assetId);
        expect(sha256(reply.bytes)).to.equal(sha256(data));
        const type = reply.headers.get('content-type') ?? '';
        expect(type === contentType || type === 'application/octet-stream', type).to.equal(true);
        expect(reply.headers.get('set-cookie')).to.equal(null);
        expect(reply.headers.get('content-disposition') ?? '').not.to.match(/%E2%80%AE|\u202E/i);
        const row = await server.assets.find(assetId);
        expect(row).to.include({ contentType, filename });
      });
    }
  });
});
