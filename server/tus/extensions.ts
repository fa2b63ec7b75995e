// The tus extensions this server advertises in Tus-Extension, derived from what the endpoint and
// the store actually implement: the handler tables (which methods each URL answers), the header
// validators, the body types accepted per method, the checksum algorithms and trailers read, the
// part states the store joins, and whether sessions expire. An extension appears exactly when its
// implementation is there; the test in test/conformance asserts the resulting list.

export interface TusCapabilities {
  /** Methods answered at {TUS_PATH} and at {TUS_PATH}/{id}. */
  collectionMethods: readonly string[];
  uploadMethods: readonly string[];
  /** Request headers validated before any handler runs (lower case). */
  headers: ReadonlySet<string>;
  /** Methods that carry upload bytes, and their body type. */
  bodyTypes: Readonly<Record<string, string>>;
  /** Request trailers read at the end of a body (lower case). */
  trailers: readonly string[];
  checksumAlgorithms: readonly string[];
  /** Unfinished sessions expire after a time without bytes. */
  expires: boolean;
  /** A final upload may name partial uploads that are still receiving bytes. */
  joinsUnfinishedParts: boolean;
}

type Rule = readonly [name: string, implemented: (c: TusCapabilities) => boolean];

const creation = (c: TusCapabilities) => c.collectionMethods.includes('POST');
const checksum = (c: TusCapabilities) => c.checksumAlgorithms.includes('sha1');
const concatenation = (c: TusCapabilities) => creation(c) && c.headers.has('upload-concat');

// in the order the tus specification lists them
const RULES: readonly Rule[] = [
  ['creation', creation],
  ['creation-with-upload', (c) => creation(c) && c.bodyTypes.POST !== undefined],
  ['creation-defer-length', (c) => creation(c) && c.headers.has('upload-defer-length')],
  ['termination', (c) => c.uploadMethods.includes('DELETE')],
  ['expiration', (c) => c.expires],
  // the spec requires sha1 of every server that advertises checksum
  ['checksum', checksum],
  ['checksum-trailer', (c) => checksum(c) && c.trailers.includes('upload-checksum')],
  ['concatenation', concatenation],
  ['concatenation-unfinished', (c) => concatenation(c) && c.joinsUnfinishedParts],
];

export function tusExtensions(capabilities: TusCapabilities): string[] {
  return RULES.filter(([, implemented]) => implemented(capabilities)).map(([name]) => name);
}
