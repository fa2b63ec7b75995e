// Webhooks: signed deliveries of upload created, finished (asset id, sha256, size), failed,
// cancelled and expired to a real HTTP receiver; retries with backoff while the receiver answers
// 503 or is down; none lost across a restart; dead after the last attempt; and no webhook
// delivered twice by two instances sharing the outbox.
import { createHmac, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { WebhookOutboxRow } from '../../../db/schema.js';
import { verifyWebhookSignature } from '../../../server/index.js';
import { sha256 } from '../../helpers/files.js';
import { LogCapture, startServerWith } from '../../helpers/log-capture.js';
import { uniqueOwner } from '../../helpers/rest.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { tusUploadSource } from '../../helpers/tus.js';
import { createUpload, patchUpload, tusRequest } from '../../helpers/tus-http.js';
import { waitFor } from '../../helpers/wait.js';
import { type Delivery, WebhookReceiver } from '../../helpers/webhook-receiver.js';

const SECRET = 'webhook-secret-for-tests-0123456789';

describe('webhooks', () => {
  const receiver = new WebhookReceiver();
  const running: TestServer[] = [];
  const env = () => ({
    WEBHOOK_URL: receiver.url,
    WEBHOOK_SECRET: SECRET,
    WEBHOOK_BACKOFF: '50ms',
    WEBHOOK_BACKOFF_MAX: '200ms',
    WEBHOOK_MAX_ATTEMPTS: '100',
  });
  const start = async (extra: Record<string, string> = {}) => {
    const server = await startTestServer({ ...env(), ...extra });
    running.push(server);
    return server;
  };
  const rows = (server: TestServer, id: string): Promise<WebhookOutboxRow[]> =>
    server.operations.outbox.listBySession(id);
  const acceptedTypes = (id: string) => receiver.accepted(id).map((d) => d.body.type);

  before(() => receiver.start());
  afterEach(async () => {
    receiver.answer = 204;
    receiver.delayMs = 0;
    await receiver.start().catch(() => {});
    await Promise.all(running.splice(0).map((s) => s.stop()));
  });
  after(() => receiver.stop());

  it('sends signed created and finished webhooks with the asset id, sha256 and size', async () => {
    const server = await start();
    const owner = uniqueOwner('hook');
    const data = randomBytes(5000);
    const result = await tusUploadSource(server.tusUrl, data, { owner });
    const id = result.url.split('/').pop() ?? '';
    await waitFor(() => acceptedTypes(id).length === 2, { what: 'two webhooks' });
    const [created, finished] = receiver.accepted(id) as [Delivery, Delivery];
    expect(created.body.type).to.equal('upload.created');
    expect(created.body.data.upload).to.include({ id, owner_id: owner, length: data.length, status: 'initiated' });
    expect(finished.body.type).to.equal('upload.finished');
    expect(finished.body.data.asset).to.include({ id: result.assetId, sha256: sha256(data), size: data.length });
    expect(finished.body.data.upload).to.include({ id, owner_id: owner, status: 'completed' });

    for (const delivery of [created, finished]) {
      const { headers, raw, body } = delivery;
      expect(headers['content-type']).to.equal('application/json');
      const expected = `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`;
      expect(headers['x-upload-signature']).to.equal(expected);
      expect(verifyWebhookSignature(SECRET, raw, expected)).to.equal(true);
      expect(verifyWebhookSignature(SECRET, raw.replace(owner, 'mallory'), expected)).to.equal(false);
      expect(verifyWebhookSignature('another-secret-0123456789', raw, expected)).to.equal(false);
      expect(headers['x-upload-timestamp']).to.equal(String(Math.floor(Date.parse(body.sent_at) / 1000)));
      expect(Math.abs(Date.now() - Date.parse(body.sent_at))).to.be.below(60_000);
      expect(headers['x-upload-event']).to.equal(body.type);
      expect(headers['x-upload-delivery']).to.equal(body.id);
      expect(body.attempt).to.equal(1);
    }
    await waitFor(async () => (await rows(server, id)).every((r) => r.state === 'delivered' && r.deliveredAt), {
      what: 'rows marked delivered',
    });
  });

  it('sends failed, cancelled and expired', async () => {
    const server = await start({ SESSION_TTL: '300ms' });
    const owner = uniqueOwner('hook-ends');
    const cancelled = await createUpload(server.tusUrl, { owner, length: 10 });
    await tusRequest('DELETE', cancelled.url, { owner });
    const failed = await createUpload(server.tusUrl, {
      owner,
      length: 10,
      metadata: { filename: 'f.bin', sha256: 'f'.repeat(64) },
    });
    await patchUpload(failed.url, 0, randomBytes(10), { owner });
    const expired = await createUpload(server.tusUrl, { owner, length: 10 });
    await waitFor(
      async () => {
        await server.cleanup();
        return acceptedTypes(expired.id).includes('upload.expired');
      },
      { what: 'upload.expired', intervalMs: 100 },
    );
    await waitFor(() => acceptedTypes(cancelled.id).includes('upload.cancelled'), { what: 'upload.cancelled' });
    await waitFor(() => acceptedTypes(failed.id).includes('upload.failed'), { what: 'upload.failed' });
    const failure = receiver.accepted(failed.id).find((d) => d.body.type === 'upload.failed');
    expect(String(failure?.body.data.upload.error)).to.match(/sha256/);
    expect(receiver.accepted(expired.id).at(-1)?.body.data.upload).to.include({ status: 'expired', owner_id: owner });
  });

  it('retries with backoff while the receiver answers 503 and delivers once it recovers', async () => {
    receiver.answer = 503;
    const server = await start();
    const owner = uniqueOwner('hook-503');
    const result = await tusUploadSource(server.tusUrl, randomBytes(100), { owner });
    const id = result.url.split('/').pop() ?? '';
    await waitFor(
      async () => {
        const queued = await rows(server, id);
        return queued.length === 2 && queued.every((r) => r.attempts >= 3);
      },
      { what: 'three attempts each' },
    );
    const failing = await rows(server, id);
    expect(failing.map((r) => [r.state, r.lastError])).to.deep.equal([
      ['pending', 'HTTP 503'],
      ['pending', 'HTTP 503'],
    ]);
    receiver.answer = 204;
    await waitFor(() => acceptedTypes(id).length === 2, { what: 'delivery after recovery' });
    expect(acceptedTypes(id)).to.have.members(['upload.created', 'upload.finished']);
    const accepted = receiver.accepted(id);
    expect(accepted.every((d) => d.body.attempt >= 3)).to.equal(true);
    // each attempt is signed afresh, and the same event keeps its id
    const attempts = receiver.attempts(id).filter((d) => d.body.type === 'upload.created');
    expect(new Set(attempts.map((d) => d.body.id)).size).to.equal(1);
    expect(new Set(attempts.map((d) => d.headers['x-upload-signature'])).size).to.equal(attempts.length);
  });

  it('delivers what it missed while the receiver was down once it is back', async () => {
    const server = await start();
    await receiver.stop();
    const owner = uniqueOwner('hook-down');
    const upload = await createUpload(server.tusUrl, { owner, length: 10 });
    await waitFor(async () => ((await rows(server, upload.id))[0]?.attempts ?? 0) >= 2, { what: 'failed attempts' });
    const [row] = await rows(server, upload.id);
    expect(row?.lastError).to.match(/fetch failed|ECONNREFUSED/);
    await receiver.start();
    await waitFor(() => acceptedTypes(upload.id).includes('upload.created'), { what: 'delivery after restart' });
  });

  it('loses no webhook across a restart of the server', async () => {
    receiver.answer = 503;
    const first = await start();
    const owner = uniqueOwner('hook-restart');
    const upload = await createUpload(first.tusUrl, { owner, length: 10 });
    await waitFor(async () => ((await rows(first, upload.id))[0]?.attempts ?? 0) >= 1, { what: 'a failed attempt' });
    await first.stop();
    running.splice(running.indexOf(first), 1);
    receiver.answer = 204;
    await start();
    await waitFor(() => acceptedTypes(upload.id).includes('upload.created'), { what: 'delivery by the new server' });
  });

  it('marks a webhook dead after the last attempt and logs it', async () => {
    receiver.answer = 503;
    const capture = new LogCapture('info');
    const server = await startServerWith({ ...env(), WEBHOOK_MAX_ATTEMPTS: '2' }, { log: capture.log });
    running.push(server);
    const owner = uniqueOwner('hook-dead');
    const upload = await createUpload(server.tusUrl, { owner, length: 10 });
    await waitFor(async () => (await rows(server, upload.id))[0]?.state === 'dead', { what: 'a dead webhook' });
    const [row] = await rows(server, upload.id);
    expect(row).to.include({ attempts: 2, lastError: 'HTTP 503' });
    expect(receiver.attempts(upload.id)).to.have.length(2);
    // rows other tests left pending may die here too: look at this upload's
    const dead = capture.withMessage('webhook dead: no attempts left').filter((l) => l.upload_id === upload.id);
    expect(dead).to.have.length(1);
    expect(dead[0]).to.include({ level: 50, module: 'webhooks', upload_id: upload.id, type: 'upload.created' });
  });

  it('never has two instances deliver the same webhook', async () => {
    receiver.delayMs = 30;
    const a = await start({ WEBHOOK_BACKOFF_MAX: '50ms' });
    const b = await start({ WEBHOOK_BACKOFF_MAX: '50ms' });
    const owner = uniqueOwner('hook-two');
    const ids = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const server = i % 2 === 0 ? a : b;
        return (await createUpload(server.tusUrl, { owner, length: 10 })).id;
      }),
    );
    await waitFor(() => ids.every((id) => acceptedTypes(id).length === 1), { what: 'every webhook delivered' });
    const deliveries = ids.flatMap((id) => receiver.attempts(id));
    expect(deliveries).to.have.length(ids.length);
    expect(new Set(deliveries.map((d) => d.body.id)).size).to.equal(ids.length);
  });
});
