// tus 1.0.0 conformance: every MUST of the core protocol and of each extension this server
// advertises, one row per requirement with the sentence it checks (the *.rows.ts tables), run
// over raw HTTP against a live server.
import { expect } from 'chai';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { CONCATENATION_ROWS } from './concatenation.rows.js';
import { CORE_ROWS } from './core.rows.js';
import { CREATION_ROWS, EXPIRY_ROW } from './creation.rows.js';
import { Conformance, type Requirement } from './harness.js';
import { INTEGRITY_ROWS } from './integrity.rows.js';

const TUS_ROWS: Requirement[] = [...CORE_ROWS, ...CREATION_ROWS, ...INTEGRITY_ROWS, ...CONCATENATION_ROWS];

function run(rows: Requirement[], server: () => TestServer): void {
  for (const row of rows) {
    it(`${row.id}: ${row.sentence}`, () => row.check(new Conformance(server())));
  }
}

describe('conformance: tus 1.0.0', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ CHUNK_SIZE: '5MiB' });
  });
  after(async () => {
    await server.stop();
  });

  it('has one row per requirement, each with a unique id and the sentence it checks', () => {
    const ids = [...TUS_ROWS, EXPIRY_ROW].map((r) => r.id);
    expect(new Set(ids).size).to.equal(ids.length);
    for (const row of TUS_ROWS) expect(row.sentence, row.id).to.match(/MUST|SHOULD|MAY|SHALL/i);
  });

  run(TUS_ROWS, () => server);

  describe('with sessions that expire after a second', () => {
    let short: TestServer;
    before(async () => {
      short = await startTestServer({ SESSION_TTL: '1s' });
    });
    after(async () => {
      await short.stop();
    });
    run([EXPIRY_ROW], () => short);
  });
});
