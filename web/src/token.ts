// The token field: what every request is authorised with, and whose it is (the `sub` the token
// names, read for display only: the server verifies it). With DEV_TOKENS=1 the server mints a
// token for a name on request (to a same-origin page on loopback only), and the field starts filled with one; the note saying so goes as
// soon as the field holds another token.
import { TokenSource } from '../../client-sdk/browser/index.js';

export interface TokenField {
  tokens: TokenSource;
  /** Called whenever the token changes (typed, pasted or fetched). */
  onChange(listener: () => void): void;
  has(): boolean;
  /** The owner the token names (its `sub`), or undefined when it is not a readable JWT. */
  owner(): string | undefined;
}

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

async function devToken(apiUrl: string, sub: string): Promise<string | undefined> {
  const response = await fetch(new URL(`/dev/token?sub=${encodeURIComponent(sub)}`, apiUrl), { cache: 'no-store' });
  if (!response.ok) return undefined;
  const body = (await response.json()) as { token?: string };
  return body.token;
}

/** The `sub` claim of a JWT, unverified. */
export function subjectOf(token: string): string | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as { sub?: unknown };
    return typeof claims.sub === 'string' ? claims.sub : undefined;
  } catch {
    return undefined;
  }
}

export function tokenField(apiUrl: string, devTokens: boolean): TokenField {
  const input = element<HTMLInputElement>('token');
  const note = element<HTMLParagraphElement>('token-note');
  const show = element<HTMLButtonElement>('show-token');
  const listeners: (() => void)[] = [];
  const tokens = new TokenSource({ getToken: () => input.value.trim() });
  const pasteNote = 'Paste a token issued for you (Authorization: Bearer).';
  let filled: string | undefined;
  const changed = () => {
    tokens.reset();
    // the development note speaks of the token the server filled in, not of any other
    if (filled !== undefined && input.value.trim() !== filled) {
      filled = undefined;
      note.textContent = pasteNote;
    }
    for (const listener of listeners) listener();
  };
  input.addEventListener('change', changed);
  show.addEventListener('click', () => {
    const hidden = input.type === 'password';
    input.type = hidden ? 'text' : 'password';
    show.textContent = hidden ? 'Hide' : 'Show';
    show.setAttribute('aria-pressed', String(hidden));
  });
  note.textContent = pasteNote;
  if (devTokens) {
    void devToken(apiUrl, 'browser-user').then((token) => {
      if (token && !input.value) {
        input.value = token;
        filled = token;
        note.textContent = 'Development mode: the server filled in a token for "browser-user".';
        changed();
      }
    });
  }
  return {
    tokens,
    onChange: (listener) => listeners.push(listener),
    has: () => input.value.trim() !== '',
    owner: () => subjectOf(input.value.trim()),
  };
}
