// What a request under the tus path names: the collection ({TUS_PATH}, where uploads are
// created) or one upload ({TUS_PATH}/{id}), read from the raw URL exactly as sent. Nothing else
// is a tus URL: no extra segments, %-escapes, dot segments or matrix parameters, so the id every
// check uses is the id every handler acts on. The query string is ignored.
export type TusTarget = { kind: 'collection' } | { kind: 'upload'; id: string };

// ids this server makes are 32 hex digits; any id it might have made before is letters, digits, _ and -
const UPLOAD_ID = /^[A-Za-z0-9_-]{1,128}$/;

export function parseTusTarget(originalUrl: string, tusPath: string): TusTarget | undefined {
  const path = originalUrl.split('?', 1)[0] ?? '';
  if (path === tusPath || path === `${tusPath}/`) return { kind: 'collection' };
  if (!path.startsWith(`${tusPath}/`)) return undefined;
  const id = path.slice(tusPath.length + 1);
  return UPLOAD_ID.test(id) ? { kind: 'upload', id } : undefined;
}
