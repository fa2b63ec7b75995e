// What an upload's requests and responses tell the client: the asset id the server answered with,
// every upload the server created (the parts of a parallel upload too), creations still under way,
// and the offsets a resume started from.
import type { HttpRequest, HttpResponse } from 'tus-js-client';

export const ASSET_ID_HEADER = 'Upload-Asset-Id';

export class Observations {
  assetId: string | undefined;
  readonly urls = new Set<string>();
  private readonly created = new Set<string>();
  private readonly resumedAt = new Map<string, number>();
  /** Uploads this call has sent bytes to (after which a HEAD is a retry, not where it resumed). */
  private readonly sending = new Set<string>();
  private readonly creating = new Set<Promise<void>>();

  constructor(private readonly endpoint: string) {}

  sent(request: HttpRequest, response: Promise<HttpResponse>): void {
    if (request.getMethod() !== 'POST') return;
    const settled = response.then(
      () => {},
      () => {},
    );
    this.creating.add(settled);
    void settled.then(() => this.creating.delete(settled));
  }

  /** Waits (at most `timeoutMs`) for creations under way, so their uploads are known, e.g. to cancel them. */
  async creationsSettled(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.creating.size > 0 && Date.now() < deadline) {
      await Promise.race([
        Promise.all(this.creating),
        new Promise((resolve) => setTimeout(resolve, deadline - Date.now())),
      ]);
    }
  }

  record(request: HttpRequest, response: HttpResponse): void {
    const status = response.getStatus();
    if (status < 200 || status >= 300) return;
    const assetId = response.getHeader(ASSET_ID_HEADER);
    if (assetId) this.assetId = assetId;
    const method = request.getMethod();
    const location = method === 'POST' ? response.getHeader('Location') : undefined;
    if (location) {
      const url = new URL(location, this.endpoint).toString();
      this.urls.add(url);
      this.created.add(url);
    }
    // a HEAD of an upload made before this call, before this call sent it bytes: where resuming starts
    const url = request.getURL();
    const offset = Number(response.getHeader('Upload-Offset'));
    if (method === 'PATCH') this.sending.add(url);
    if (method === 'HEAD' && !this.created.has(url) && !this.sending.has(url) && Number.isFinite(offset)) {
      this.resumedAt.set(url, offset);
    }
  }

  /** Bytes the server already had, summed over the uploads this call resumed. */
  get resumedFrom(): number {
    let total = 0;
    for (const offset of this.resumedAt.values()) total += offset;
    return total;
  }
}
