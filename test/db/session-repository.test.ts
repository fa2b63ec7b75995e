// The asset transaction every upload ends with, against the test run's database: a repeated call
// returns the asset the first one made (the insert finds its row taken and reads it back), and a
// call naming someone else as the owner changes nothing.
import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { eq } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { assets, type NewAsset } from '../../db/schema.js';
import { SessionRepository } from '../../db/session-repository.js';
import { sharedDatabase } from '../helpers/server.js';
import { uniqueOwner } from '../helpers/tokens.js';

describe('SessionRepository.complete', function () {
  this.timeout(30_000);
  let database: Database;
  let sessions: SessionRepository;

  before(async () => {
    database = await sharedDatabase();
    sessions = new SessionRepository(database.db);
  });

  async function uploadedSession(ownerId: string): Promise<string> {
    const id = randomBytes(16).toString('hex');
    const created = await sessions.createWithinLimits(
      {
        id,
        ownerId,
        filename: 'a.bin',
        assetType: 'file',
        uploadLength: 4,
        uploadOffset: 4,
        chunkSize: 5 * 1024 * 1024,
        totalChunks: 1,
        chunks: { 1: 'a'.repeat(64) },
        status: 'uploading',
        expiresAt: new Date(Date.now() + 3_600_000),
      },
      { maxActive: 0, perHour: 0, now: new Date() },
    );
    if (!created.ok) throw new Error('creation refused');
    return id;
  }

  function assetFor(ownerId: string, sessionId: string): NewAsset {
    return {
      id: randomUUID(),
      ownerId,
      sessionId,
      filename: 'a.bin',
      assetType: 'file',
      size: 4,
      sha256: 'b'.repeat(64),
      storagePath: `assets/${sessionId}`,
    };
  }

  const assetRows = (sessionId: string) => database.db.select().from(assets).where(eq(assets.sessionId, sessionId));

  it('makes the asset once: a repeated call returns the first asset and the completed session', async () => {
    const owner = uniqueOwner('complete');
    const id = await uploadedSession(owner);
    const first = await sessions.complete(id, assetFor(owner, id));
    expect(first.session.status).to.equal('completed');
    expect(first.session.assetId).to.equal(first.asset.id);

    const again = await sessions.complete(id, assetFor(owner, id));
    expect(again.asset.id, 'the asset of the first call, not the new candidate').to.equal(first.asset.id);
    expect(again.session.assetId).to.equal(first.asset.id);
    expect(await assetRows(id)).to.have.length(1);
  });

  it("refuses to make an asset of someone else's session, and leaves it as it was", async () => {
    const owner = uniqueOwner('victim');
    const id = await uploadedSession(owner);
    const before = await sessions.find(id);
    const error = await sessions.complete(id, assetFor(uniqueOwner('attacker'), id)).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).to.match(/vanished while finalising/);
    expect(await assetRows(id), 'no asset row').to.have.length(0);
    const after = await sessions.find(id);
    expect(after?.status).to.equal('uploading');
    expect(after?.assetId).to.equal(null);
    expect(after?.updatedAt).to.deep.equal(before?.updatedAt);
  });
});
