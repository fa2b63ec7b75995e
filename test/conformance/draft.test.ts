// Conformance to the IETF resumable-uploads draft: -11 (interop version 8) requirement by
// requirement, and what the earlier interop versions 3 to 7 require differently, over raw HTTP
// against a live server.
import { expect } from 'chai';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DRAFT_APPEND_ROWS } from './draft-append.rows.js';
import { DRAFT_CREATION_ROWS } from './draft-creation.rows.js';
import { VERSION_ROWS } from './draft-versions.rows.js';
import { Conformance } from './harness.js';

const DRAFT_ROWS = [...DRAFT_CREATION_ROWS, ...DRAFT_APPEND_ROWS];

describe('conformance: resumable uploads draft', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ CHUNK_SIZE: '5MiB' });
  });
  after(async () => {
    await server.stop();
  });

  it('has one row per requirement, each with a unique id and the sentence it checks', () => {
    const ids = [...DRAFT_ROWS, ...VERSION_ROWS].map((r) => r.id);
    expect(new Set(ids).size).to.equal(ids.length);
  });

  for (const row of [...DRAFT_ROWS, ...VERSION_ROWS]) {
    it(`${row.id}: ${row.sentence}`, () => row.check(new Conformance(server)));
  }
});
