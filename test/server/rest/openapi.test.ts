// The REST API's contract: docs/openapi.json is a valid OpenAPI 3.1 document, served without a
// token at /storage/openapi.json, lists the same routes docs/API.md documents, and the check every
// REST test runs on its responses (helpers/openapi.ts) catches a response that drifts from it.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { expect } from 'chai';
import { expectContract } from '../../helpers/openapi.js';
import { ROOT, startTestServer, type TestServer } from '../../helpers/server.js';

const DOC = path.join(ROOT, 'docs/openapi.json');

describe('the REST contract (docs/openapi.json)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(await readFile(DOC, 'utf8')));
    expect(result.errors, JSON.stringify(result.errors)).to.equal(undefined);
    expect(result.valid).to.equal(true);
    expect(validator.version).to.equal('3.1');
  });

  it('is served at /storage/openapi.json without a token, as it is in the repository', async () => {
    const res = await fetch(`${server.url}/storage/openapi.json`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^application\/json/);
    expect(await res.json()).to.deep.equal(JSON.parse(await readFile(DOC, 'utf8')));
  });

  it('lists exactly the REST routes docs/API.md documents', async () => {
    const api = await readFile(path.join(ROOT, 'docs/API.md'), 'utf8');
    const documented = [...api.matchAll(/^### (GET|POST|DELETE|PATCH|PUT) (\/storage\/[^\s?]+)/gm)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    const contract = JSON.parse(await readFile(DOC, 'utf8')) as { paths: Record<string, Record<string, unknown>> };
    const listed = Object.entries(contract.paths).flatMap(([route, item]) =>
      Object.keys(item)
        .filter((key) => ['get', 'post', 'delete', 'patch', 'put'].includes(key))
        .map((method) => `${method.toUpperCase()} ${route}`),
    );
    expect([...new Set(documented)].sort()).to.deep.equal(listed.filter((r) => r.includes('/storage/')).sort());
  });

  it('catches a response that drifts from it', () => {
    const json = new Headers({ 'content-type': 'application/json; charset=utf-8' });
    const url = 'http://h/storage/chunked-upload/abc';
    const error = JSON.stringify({ error: 'not_found', message: 'upload abc not found' });
    expect(() => expectContract('GET', url, 404, json, error)).to.not.throw();
    // a field missing, a field added, a wrong type, an undocumented status or route
    expect(() => expectContract('GET', url, 404, json, JSON.stringify({ error: 'not_found' }))).to.throw(/message/);
    expect(() => expectContract('GET', url, 404, json, JSON.stringify({ ...JSON.parse(error), extra: 1 }))).to.throw(
      /additional/,
    );
    expect(() => expectContract('GET', url, 200, json, JSON.stringify({ session_id: 5 }))).to.throw();
    expect(() => expectContract('GET', 'http://h/storage/assets/x/download', 200, json, '{}')).to.not.throw();
    expect(() => expectContract('DELETE', 'http://h/storage/assets/x', 204, new Headers(), 'body')).to.throw(
      /without a body/,
    );
    expect(() => expectContract('GET', 'http://h/storage/nowhere', 200, json, '{}')).to.throw(/not in docs/);
  });
});
