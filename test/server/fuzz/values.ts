// Random and boundary values for the fuzz test, drawn from its seeded Random: ids (own, the
// victim's, made-up), tokens (valid, forged, expired, odd subjects), Upload-Metadata, bodies, JSON
// bodies, Range headers and tus headers.
import { createHmac } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Random } from '../../helpers/random.js';
import { TEST_JWT_SECRET, tokenFor } from '../../helpers/tokens.js';
import { C } from './requests.js';

/** What the generators draw from; the fuzzers' own ids are added to these lists as they are made. */
export interface FuzzPools {
  random: Random;
  /** The victim's bytes. */
  data: Buffer;
  fuzzers: string[];
  ownSessions: string[];
  ownAssets: string[];
  junkIds: string[];
  victimIds: string[];
  victimOwner: string;
  victimAsset: { asset_id: string };
}

/** The value makers over `pools`; none draws from the Random until it is called. */
export function fuzzValues(pools: FuzzPools) {
  const { random, fuzzers, ownSessions, ownAssets, junkIds, victimIds, victimOwner, victimAsset } = pools;
  const WEIRD = [
    '',
    ' ',
    '../../etc/passwd',
    '..\\..\\x',
    "'; DROP TABLE upload_sessions; --",
    '名前.txt',
    '\u202egnp.exe',
    '\ud800',
    'a'.repeat(300),
    'x'.repeat(9000),
    'line\r\nX-Injected: 1',
    'nul\u0000byte',
    '%00',
    ['$', '{jndi:ldap://127.0.0.1/x}'].join(''),
    '<script>alert(1)</script>',
    '0',
    '-1',
  ];
  const NUMBERS = [
    '',
    '0',
    '1',
    '-1',
    '+1',
    '01',
    '1.5',
    '1e3',
    '0x10',
    ' 7',
    'NaN',
    'Infinity',
    '9007199254740991',
    '9007199254740993',
    '99999999999999999999',
    String(C - 1),
    String(C),
    String(C + 1),
    '100',
    '1000',
  ];
  // a lone surrogate cannot be percent-encoded as UTF-8: send the bytes such a client might
  const encode = (value: string) => {
    try {
      return encodeURIComponent(value);
    } catch {
      return '%ED%A0%80';
    }
  };
  const number = () => (random.bool(0.6) ? random.pick(NUMBERS) : String(random.int(0, 2 * C)));
  const weird = () => random.pick(WEIRD);

  const anyId = (): { id: string; target?: string } => {
    const pool = random.int(0, 9);
    if (pool < 5 && ownSessions.length > 0) {
      const id = random.pick(ownSessions);
      return { id, target: id };
    }
    if (pool < 7) {
      const id = random.pick(victimIds);
      return { id, target: id };
    }
    if (pool < 8) return { id: random.pick([...ownAssets, victimAsset.asset_id]) };
    return { id: random.pick(junkIds) };
  };
  const assetId = () =>
    random.bool(0.4) && ownAssets.length > 0
      ? random.pick(ownAssets)
      : random.bool(0.5)
        ? victimAsset.asset_id
        : random.pick(junkIds);

  const b64url = (v: string) => Buffer.from(v).toString('base64url');
  const handMade = (header: object, payload: object, secret?: string) => {
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
    return `${input}.${secret === undefined ? '' : createHmac('sha256', secret).update(input).digest('base64url')}`;
  };
  const authorization = (): string | undefined => {
    const r = random.int(0, 99);
    if (r < 55) return `Bearer ${tokenFor(fuzzers[0] ?? '')}`;
    if (r < 70) return `Bearer ${tokenFor(fuzzers[1] ?? '')}`;
    const exp = Math.floor(Date.now() / 1000) + 3600;
    return random.pick([
      undefined,
      'Bearer',
      'Bearer ',
      'Bearer not.a.jwt',
      `Basic ${Buffer.from('a:b').toString('base64')}`,
      `bearer ${tokenFor(fuzzers[0] ?? '')}`,
      `Bearer  ${tokenFor(fuzzers[0] ?? '')}  `,
      `Bearer ${tokenFor(fuzzers[0] ?? '')}x`,
      `Bearer ${handMade({ alg: 'none', typ: 'JWT' }, { sub: victimOwner, exp })}`,
      `Bearer ${handMade({ alg: 'HS256', typ: 'JWT' }, { sub: victimOwner, exp }, 'wrong-secret-0123456789abcdefghij')}`,
      `Bearer ${tokenFor(victimOwner, { expiresIn: -3600 })}`,
      `Bearer ${jwt.sign({ sub: victimOwner }, TEST_JWT_SECRET, { algorithm: 'HS384', expiresIn: 60 })}`,
      `Bearer ${jwt.sign({ name: 'no sub' }, TEST_JWT_SECRET, { algorithm: 'HS256', expiresIn: 60 })}`,
      `Bearer ${jwt.sign({ sub: 12345 }, TEST_JWT_SECRET, { algorithm: 'HS256', expiresIn: 60 })}`,
      `Bearer ${tokenFor(weird() || 'empty')}`,
      `Bearer ${'a'.repeat(3000)}`,
    ]);
  };

  const metadataHeader = (): string => {
    const pairs: string[] = [];
    for (let i = random.int(0, 5); i > 0; i--) {
      const key = random.pick([
        'filename',
        'name',
        'filetype',
        'content_type',
        'asset_type',
        'chunk_size',
        'relativePath',
        random.string(random.int(0, 8), 'abc_- ,\u00e9'),
      ]);
      const value = random.pick([
        weird(),
        random.pick(['model', 'texture', 'other', 'video', 'nope', 'MODEL']),
        random.pick(['image/png', 'text/plain; charset=utf-8', 'bogus', '']),
        number(),
      ]);
      const encoded = random.bool(0.9) ? Buffer.from(value).toString('base64') : random.pick(['***', '=', 'YQ', ' ']);
      pairs.push(random.bool(0.1) ? key : `${key} ${encoded}`);
    }
    return pairs.join(random.bool(0.9) ? ',' : ', ');
  };

  const body = (): Buffer =>
    random.pick([
      Buffer.alloc(0),
      random.bytes(1),
      random.bytes(random.int(2, 4096)),
      random.bytes(random.int(4096, 300_000)),
    ]);

  const jsonBody = (): Buffer => {
    if (random.bool(0.1)) return Buffer.from(random.pick(['{', 'null', '[]', '"x"', '{"a":', '{}}', '', '\u0000']));
    const value = (): unknown =>
      random.pick<unknown>([
        weird(),
        Number(number()) || 0,
        -1,
        1.5,
        1e300,
        Number.MAX_SAFE_INTEGER + 2,
        null,
        true,
        [],
        {},
        { nested: { deeper: [1, 2, 3] } },
        'model',
        'other',
        C,
      ]);
    const object: Record<string, unknown> = {};
    for (const field of ['filename', 'file_size', 'asset_type', 'content_type', 'chunk_size', 'metadata', 'extra']) {
      if (random.bool(0.7)) object[field] = value();
    }
    if (random.bool(0.5)) object.file_size = random.int(0, 3 * C);
    if (random.bool(0.5)) object.asset_type = random.pick(['other', 'model', 'image']);
    if (random.bool(0.5)) object.filename = weird() || 'f.bin';
    if (random.bool(0.3)) {
      object.metadata = Object.fromEntries(
        Array.from({ length: random.int(0, 40) }, (_, i) => [`k${i}${random.string(2, 'xy.$')}`, weird()]),
      );
    }
    return Buffer.from(JSON.stringify(object));
  };

  const range = () =>
    random.pick([
      'bytes=0-0',
      'bytes=0-',
      'bytes=-1',
      'bytes=-0',
      'bytes=5-2',
      'bytes=0-99999999999999999',
      'bytes=abc',
      'bytes=0-1,3-4',
      'bytes=',
      'items=0-1',
      'bytes=-',
      Array.from({ length: 60 }, () => 'bytes=1-1').join(','),
      `bytes=${number()}-${number()}`,
    ]);

  const tusHeaders = (): Record<string, string> => {
    const headers: Record<string, string> = {};
    if (random.bool(0.92)) headers['Tus-Resumable'] = random.pick(['1.0.0', '1.0.0', '1.0.0', '0.2.2', '', '1.0']);
    return headers;
  };

  return {
    NUMBERS,
    encode,
    number,
    weird,
    anyId,
    assetId,
    authorization,
    metadataHeader,
    body,
    jsonBody,
    range,
    tusHeaders,
  };
}

export type FuzzValues = ReturnType<typeof fuzzValues>;
