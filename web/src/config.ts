// What the page asks the server on load: where the tus endpoint is, and whether dev tokens exist.

export interface PageConfig {
  /** Absolute URL of the tus endpoint. */
  endpoint: string;
  /** The server's base URL for the REST API. */
  apiUrl: string;
  /** True when the server mints development tokens at GET /dev/token (DEV_TOKENS=1, no JWT settings). */
  devTokens: boolean;
}

interface ServerConfig {
  tus_path?: string;
  dev_tokens?: boolean;
}

export async function loadConfig(): Promise<PageConfig> {
  const apiUrl = location.origin;
  let server: ServerConfig = {};
  try {
    const response = await fetch(new URL('/app/config.json', apiUrl), { cache: 'no-store' });
    if (response.ok) server = (await response.json()) as ServerConfig;
  } catch {
    // an older server: the defaults below
  }
  return {
    endpoint: new URL(server.tus_path ?? '/files', apiUrl).toString(),
    apiUrl,
    devTokens: server.dev_tokens === true,
  };
}
