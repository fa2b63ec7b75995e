// Retention: the cleanup sweep deletes upload events, and delivered webhooks, older than
// EVENT_RETENTION, and keeps webhooks still waiting for delivery.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { uniqueOwner } from '../../helpers/rest.js';
import { startTestServer } from '../../helpers/server.js';
import { createUpload, patchUpload } from '../../helpers/tus-http.js';
import { waitFor } from '../../helpers/wait.js';
import { WebhookReceiver } from '../../helpers/webhook-receiver.js';

describe('event retention', () => {
  it('prunes old events and delivered webhooks in the cleanup sweep, keeping pending ones', async () => {
    const receiver = new WebhookReceiver();
    await receiver.start();
    const server = await startTestServer({
      EVENT_RETENTION: '1ms',
      WEBHOOK_URL: receiver.url,
      WEBHOOK_BACKOFF: '50ms',
      WEBHOOK_BACKOFF_MAX: '100ms',
    });
    try {
      const owner = uniqueOwner('retention');
      const done = await createUpload(server.tusUrl, { owner, length: 10 });
      await patchUpload(done.url, 0, randomBytes(10), { owner });
      const { outbox, events } = server.operations;
      await waitFor(
        async () => {
          const rows = await outbox.listBySession(done.id);
          return rows.length === 2 && rows.every((r) => r.state === 'delivered');
        },
        { what: 'delivered webhooks' },
      );
      receiver.answer = 503;
      const waiting = await createUpload(server.tusUrl, { owner, length: 10 });
      await waitFor(async () => (await outbox.listBySession(waiting.id))[0]?.lastError === 'HTTP 503', {
        what: 'a failed delivery',
      });
      await waitFor(async () => (await events.listAfter(done.id, 0)).length === 3, { what: 'three events' });

      await server.cleanup();
      expect(await events.listAfter(done.id, 0)).to.have.length(0);
      expect(await outbox.listBySession(done.id)).to.have.length(0);
      expect((await outbox.listBySession(waiting.id)).map((r) => r.state)).to.deep.equal(['pending']);
    } finally {
      receiver.answer = 204;
      await server.stop();
      await receiver.stop();
    }
  });
});
