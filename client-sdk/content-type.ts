// A content type from a file name's extension, for the few kinds of assets this server is for;
// anything else is left for the server to default.

const TYPES: Readonly<Record<string, string>> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
  ktx2: 'image/ktx2',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  ogg: 'audio/ogg',
  flac: 'audio/flac',
  mp4: 'video/mp4',
  webm: 'video/webm',
  mov: 'video/quicktime',
  glb: 'model/gltf-binary',
  gltf: 'model/gltf+json',
  obj: 'model/obj',
  stl: 'model/stl',
  json: 'application/json',
  txt: 'text/plain',
  pdf: 'application/pdf',
  zip: 'application/zip',
};

export function contentTypeFor(filename: string): string | undefined {
  const dot = filename.lastIndexOf('.');
  return dot < 0 ? undefined : TYPES[filename.slice(dot + 1).toLowerCase()];
}
