// Every REST response a test gets is checked against the contract, docs/openapi.json: its status
// must be documented for the route (or covered by `default`), its content type listed, and a JSON
// body must match the schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses). A route the document
// does not list must answer 404 or 405 with the Error schema. So docs/API.md, the code and the
// contract cannot drift apart unnoticed.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { expect } from 'chai';
import contract from '../../docs/openapi.json' with { type: 'json' };

// ajv-formats is CommonJS with a default export
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

type Responses = Record<string, { content?: Record<string, { schema?: unknown }>; $ref?: string }>;
type Operation = { responses: Responses };
type PathItem = Record<string, Operation | unknown>;

const DOC_ID = 'openapi.json';
const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
// the OpenAPI document around the schemas: keywords ajv is to ignore, not to compile
ajv.addVocabulary(['openapi', 'info', 'servers', 'security', 'paths', 'components', 'example']);
ajv.addSchema(contract, DOC_ID);

const paths = contract.paths as Record<string, PathItem>;
const templates = Object.keys(paths).map((template) => ({
  template,
  regex: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
  literal: !template.includes('{'),
}));

/** True for URLs the contract is about (the REST API and health); tus is described in docs/API.md. */
export function coveredByContract(url: string): boolean {
  const path = new URL(url, 'http://x').pathname;
  return path.startsWith('/storage/') || path === '/healthz' || path === '/readyz';
}

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/** Asserts that one response agrees with the contract. */
export function expectContract(method: string, url: string, status: number, headers: Headers, body: string): void {
  const path = new URL(url, 'http://x').pathname;
  const where = `${method} ${path} -> ${status}`;
  const match = templates.filter((t) => t.regex.test(path)).sort((a, b) => Number(b.literal) - Number(a.literal))[0];
  const operation = match ? (paths[match.template]?.[method.toLowerCase()] as Operation | undefined) : undefined;
  if (!match || !operation) {
    expect([404, 405], `${where}: not in docs/openapi.json`).to.include(status);
    validate(`#/components/schemas/Error`, body, where);
    return;
  }
  const key = String(status) in operation.responses ? String(status) : `${String(status)[0]}XX`;
  const chosen = key in operation.responses ? key : 'default';
  expect(operation.responses, `${where}: status not documented`).to.have.property(chosen);
  let response = operation.responses[chosen];
  let base = `#/${pointer('paths', match.template, method.toLowerCase(), 'responses', chosen)}`;
  if (response?.$ref) {
    base = response.$ref;
    const name = response.$ref.split('/').pop() ?? '';
    response = (contract.components.responses as Responses)[name];
  }
  const content = response?.content;
  if (!content) {
    expect(body, `${where}: documented without a body`).to.equal('');
    return;
  }
  const type = (headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
  const listed = type in content ? type : '*/*' in content ? '*/*' : undefined;
  expect(listed, `${where}: content type ${type} not documented`).to.not.equal(undefined);
  if (listed === 'application/json') validate(`${base}/${pointer('content', listed, 'schema')}`, body, where);
}

function validate(ref: string, body: string, where: string): void {
  const check = ajv.getSchema(`${DOC_ID}${ref}`);
  if (!check) throw new Error(`${where}: no schema at ${ref}`);
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    expect.fail(`${where}: body is not JSON: ${body.slice(0, 200)}`);
  }
  if (!check(value)) expect.fail(`${where}: ${ajv.errorsText(check.errors)}\n${body.slice(0, 500)}`);
}
