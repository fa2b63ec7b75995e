// Bearer tokens: a fixed token, or an async getToken() asked once and again after a 401. Several
// requests that fail with the same stale token cause one refresh, not one each.

export interface TokenOptions {
  /** A bearer token (JWT). */
  token?: string | undefined;
  /** Called for the first request and again whenever the server answers 401. */
  getToken?: (() => Promise<string> | string) | undefined;
}

export class TokenSource {
  private cached: string | undefined;
  private pending: Promise<string> | undefined;

  constructor(private readonly options: TokenOptions) {
    this.cached = options.token;
  }

  /** True when a 401 can be answered with another token. */
  get refreshable(): boolean {
    return this.options.getToken !== undefined;
  }

  /** The token to send; undefined when neither a token nor getToken was given. */
  async current(): Promise<string | undefined> {
    if (this.cached !== undefined) return this.cached;
    if (!this.options.getToken) return undefined;
    this.pending ??= Promise.resolve(this.options.getToken()).then(
      (token) => {
        this.cached = token;
        this.pending = undefined;
        return token;
      },
      (error: unknown) => {
        this.pending = undefined;
        throw error;
      },
    );
    return this.pending;
  }

  /** Forgets the token, so the next request asks getToken() (e.g. after the user typed a new one). */
  reset(): void {
    if (this.refreshable) this.cached = undefined;
  }

  /** Drops `stale` after a 401, so the next request asks getToken() again. */
  invalidate(stale: string | undefined): void {
    if (this.refreshable && this.cached === stale) this.cached = undefined;
  }

  async header(): Promise<Record<string, string>> {
    const token = await this.current();
    return token === undefined ? {} : { Authorization: `Bearer ${token}` };
  }
}
