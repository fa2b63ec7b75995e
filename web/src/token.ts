// The token field: what every request is authorised with. With DEV_TOKENS=1 the server mints a
// token for a name on request (to a same-origin page on loopback only), and the field starts
// filled with one.
import { TokenSource } from '../../client-sdk/browser/index.js';

export interface TokenField {
  tokens: TokenSource;
  /** Called whenever the token changes (typed, pasted or fetched). */
  onChange(listener: () => void): void;
  has(): boolean;
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

export function tokenField(apiUrl: string, devTokens: boolean): TokenField {
  const input = element<HTMLInputElement>('token');
  const note = element<HTMLParagraphElement>('token-note');
  const show = element<HTMLButtonElement>('show-token');
  const listeners: (() => void)[] = [];
  const tokens = new TokenSource({ getToken: () => input.value.trim() });
  const changed = () => {
    tokens.reset();
    for (const listener of listeners) listener();
  };
  input.addEventListener('change', changed);
  show.addEventListener('click', () => {
    const hidden = input.type === 'password';
    input.type = hidden ? 'text' : 'password';
    show.textContent = hidden ? 'Hide' : 'Show';
    show.setAttribute('aria-pressed', String(hidden));
  });
  if (devTokens) {
    note.textContent = 'Development mode: the server filled in a token for "browser-user".';
    void devToken(apiUrl, 'browser-user').then((token) => {
      if (token && !input.value) {
        input.value = token;
        changed();
      }
    });
  } else {
    note.textContent = 'Paste a token issued for you (Authorization: Bearer).';
  }
  return {
    tokens,
    onChange: (listener) => listeners.push(listener),
    has: () => input.value.trim() !== '',
  };
}
