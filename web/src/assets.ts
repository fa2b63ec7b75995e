// The finished assets of the token's owner, newest first, each with a download button that fetches
// the bytes with the token and saves them under the asset's file name.
import { type ApiOptions, listSessions, saveAsset } from '../../client-sdk/browser/index.js';

export interface FinishedAsset {
  assetId: string;
  filename: string;
  size: number;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export class AssetList {
  private readonly shown = new Set<string>();

  constructor(
    private readonly api: ApiOptions,
    private readonly list: HTMLUListElement,
    private readonly note: HTMLElement,
  ) {}

  /** Replaces the list with the owner's completed uploads. */
  async refresh(): Promise<void> {
    try {
      const { sessions } = await listSessions(this.api, { status: 'completed', limit: 50 });
      this.list.replaceChildren();
      this.shown.clear();
      for (const session of sessions) {
        if (session.asset_id) {
          this.add({ assetId: session.asset_id, filename: session.filename, size: session.file_size ?? 0 }, false);
        }
      }
      this.note.textContent = sessions.length === 0 ? 'None yet.' : '';
    } catch (error) {
      this.note.textContent = `Could not list assets: ${(error as Error).message}`;
    }
  }

  add(asset: FinishedAsset, first = true): void {
    if (this.shown.has(asset.assetId)) return;
    this.shown.add(asset.assetId);
    this.note.textContent = '';
    const item = document.createElement('li');
    item.dataset.assetId = asset.assetId;
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = asset.filename;
    const size = document.createElement('span');
    size.className = 'size';
    size.textContent = formatBytes(asset.size);
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'download';
    button.textContent = 'Download';
    button.addEventListener('click', () => {
      button.disabled = true;
      saveAsset(this.api, asset.assetId, asset.filename)
        .catch((error: unknown) => {
          this.note.textContent = `Download failed: ${(error as Error).message}`;
        })
        .finally(() => {
          button.disabled = false;
        });
    });
    item.append(name, size, button);
    if (first) this.list.prepend(item);
    else this.list.append(item);
  }
}
