// Downloads an asset in a browser with the bearer token (fetch, then a Blob URL), so the token never
// appears in a URL; then lets the browser save it under the asset's file name.
import { type ApiOptions, downloadResponse } from '../rest.js';

export async function downloadBlob(api: ApiOptions, assetId: string): Promise<Blob> {
  return (await downloadResponse(api, assetId)).blob();
}

/** Fetches the asset and hands it to the browser's download manager as `filename`. */
export async function saveAsset(api: ApiOptions, assetId: string, filename: string): Promise<void> {
  const url = URL.createObjectURL(await downloadBlob(api, assetId));
  try {
    const link = document.createElement('a');
    link.href = url;
    link.download = filename;
    link.rel = 'noopener';
    document.body.append(link);
    link.click();
    link.remove();
  } finally {
    // the download has started from the Blob URL; it may be released once the click is handled
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
}
