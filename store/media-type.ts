// Content types as RFC 9110 media types (section 8.3.1): `type/subtype` tokens and optional
// `; name=value` parameters (a token or a quoted string), printable ASCII only. Anything else -
// CR/LF, controls, non-ASCII text, a bare word - is not a content type a response may carry, so
// it is stored, and served, as application/octet-stream.

export const OCTET_STREAM = 'application/octet-stream';
/** Longest content type kept; a longer one is not a real media type. */
const MAX_LENGTH = 255;

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\x20-\\x7e])*"';
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?: *; *(?:${TOKEN}=(?:${TOKEN}|${QUOTED}))?)*$`);

export function isMediaType(value: string): boolean {
  return value.length <= MAX_LENGTH && MEDIA_TYPE.test(value);
}

/**
 * What to store for a content type a client gave: null when none was given, the value (trimmed of
 * spaces) when it is a media type, application/octet-stream otherwise.
 */
export function storedMediaType(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const trimmed = value.replace(/^ +| +$/g, '');
  if (trimmed === '') return null;
  return isMediaType(trimmed) ? trimmed : OCTET_STREAM;
}

/** The Content-Type to send for a stored value: rows written before validation are checked again. */
export function servedMediaType(stored: string | null): string {
  return stored !== null && isMediaType(stored) ? stored : OCTET_STREAM;
}
