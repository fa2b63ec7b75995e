// The finished assets of the token's owner, newest first, each with a download button that fetches
// the bytes with the token and saves them under the asset's file name. The heading names the owner;
// a new token empties the list at once and lists that owner's assets instead (an answer for an
// earlier token that arrives late is dropped). Deleted assets are not listed: their sessions no
// longer name them.
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

export interface AssetElements {
  list: HTMLUListElement;
  note: HTMLElement;
  /** Where the owner's name goes ("of alice"). */
  owner: HTMLElement;
}

export class AssetList {
  private readonly shown = new Set<string>();
  /** Counts the owners listed, so that a late answer for an earlier token is dropped. */
  private generation = 0;

  constructor(
    private readonly api: ApiOptions,
    private readonly elements: AssetElements,
  ) {}

  /** Empties the list and lists the completed uploads of `owner` (undefined: no readable token). */
  async showOwner(owner: string | undefined, hasToken: boolean): Promise<void> {
    const generation = ++this.generation;
    const { list, note } = this.elements;
    list.replaceChildren();
    this.shown.clear();
    this.elements.owner.textContent = owner ? `of ${owner}` : '';
    if (!hasToken) {
      note.textContent = "Paste a token to see its owner's assets.";
      return;
    }
    note.textContent = 'Loading…';
    try {
      const { sessions } = await listSessions(this.api, { status: 'completed', limit: 50 });
      if (generation !== this.generation) return;
      for (const session of sessions) {
        if (session.asset_id) {
          this.add({ assetId: session.asset_id, filename: session.filename, size: session.file_size ?? 0 }, false);
        }
      }
      note.textContent = this.shown.size === 0 ? 'None yet.' : '';
    } catch (error) {
      if (generation === this.generation) note.textContent = `Could not list assets: ${(error as Error).message}`;
    }
  }

  add(asset: FinishedAsset, first = true): void {
    if (this.shown.has(asset.assetId)) return;
    this.shown.add(asset.assetId);
    this.elements.note.textContent = '';
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
          this.elements.note.textContent = `Download failed: ${(error as Error).message}`;
        })
        .finally(() => {
          button.disabled = false;
        });
    });
    item.append(name, size, button);
    if (first) this.elements.list.prepend(item);
    else this.elements.list.append(item);
  }
}
