// What every command needs: the server's URLs and the token (from options or the environment),
// and where to print, as JSON for scripts or as text for people.
import { UploadClientError } from '../errors.js';
import type { ApiOptions } from '../rest.js';
import type { Values } from './args.js';

export interface CliContext {
  baseUrl: string;
  tusUrl: string;
  tusPath: string;
  json: boolean;
  /** Draw a progress bar: a terminal on stderr, and neither --json nor --quiet. */
  interactive: boolean;
  api(): ApiOptions;
  /** One result: the object as JSON with --json, else the text. */
  print(result: object, text: string): void;
  /** A note for people on stderr (never with --json). */
  note(text: string): void;
}

export function cliContext(values: Values, env: NodeJS.ProcessEnv = process.env): CliContext {
  const tusPath = `/${(values['tus-path'] ?? env.UPLOAD_TUS_PATH ?? '/files').replace(/^\/+|\/+$/g, '')}`;
  let base = (values.endpoint ?? env.UPLOAD_URL ?? 'http://localhost:1080').replace(/\/+$/, '');
  // the tus endpoint itself is accepted too
  if (base.endsWith(tusPath)) base = base.slice(0, -tusPath.length);
  try {
    new URL(base);
  } catch {
    throw new UploadClientError(
      'usage',
      `--endpoint ${JSON.stringify(base)} is not a URL (e.g. http://localhost:1080)`,
    );
  }
  const json = values.json === true;
  const token = values.token ?? env.UPLOAD_TOKEN;
  return {
    baseUrl: base,
    tusUrl: `${base}${tusPath}`,
    tusPath,
    json,
    interactive: !json && values.quiet !== true && process.stderr.isTTY === true,
    api() {
      if (!token) {
        throw new UploadClientError(
          'usage',
          'no token: pass --token or set UPLOAD_TOKEN (in development: upload-cli token --sub NAME)',
        );
      }
      return { baseUrl: base, token, tusPath };
    },
    print(result, text) {
      process.stdout.write(json ? `${JSON.stringify(result)}\n` : `${text}\n`);
    },
    note(text) {
      if (!json) process.stderr.write(`${text}\n`);
    },
  };
}
