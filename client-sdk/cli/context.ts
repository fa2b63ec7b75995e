// What every command needs: the server's URLs and the token (from options or the environment),
// where unfinished uploads are remembered, how often to retry a server that does not answer, and
// where to print: JSON for scripts, or text and a progress bar for people.
import { UploadClientError } from '../errors.js';
import { defaultResumeFile } from '../node/url-storage.js';
import type { ApiOptions } from '../rest.js';
import { DEFAULT_RETRY_DELAYS, type RetryNotice } from '../retry.js';
import type { Values } from './args.js';
import { parseCount } from './format.js';
import { type ProgressView, progressBar } from './progress-bar.js';

export interface CliContext {
  baseUrl: string;
  tusUrl: string;
  tusPath: string;
  json: boolean;
  /** The JSON file that remembers unfinished uploads (--resume-file, UPLOAD_RESUME_FILE). */
  resumeFile: string;
  /** Waits before each retry of a request that got no answer or a 5xx (--retries). */
  retryDelays: readonly number[];
  api(): ApiOptions;
  /** One result: the object as JSON with --json, else the text. */
  print(result: object, text: string): void;
  /** A note for people on stderr (never with --json); a progress bar on screen makes way for it. */
  note(text: string): void;
  /** Says why a request is tried again ("cannot connect to ..., retrying in 2 s (attempt 3 of 7)"). */
  retrying(notice: RetryNotice): void;
  /** A progress bar on stderr, drawn only on a terminal without --json or --quiet. */
  progress(label: string): ProgressView;
}

/** --retries N: the first N of the default waits, the longest repeated past their end. */
function retryDelaysFor(text: string | undefined): readonly number[] {
  if (text === undefined) return DEFAULT_RETRY_DELAYS;
  const count = parseCount(text, '--retries', 0);
  const longest = DEFAULT_RETRY_DELAYS.at(-1) ?? 30_000;
  return Array.from({ length: count }, (_, i) => DEFAULT_RETRY_DELAYS[i] ?? longest);
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
  const interactive = !json && values.quiet !== true && process.stderr.isTTY === true;
  const retryDelays = retryDelaysFor(values.retries);
  let bar: ProgressView | undefined;
  const context: CliContext = {
    baseUrl: base,
    tusUrl: `${base}${tusPath}`,
    tusPath,
    json,
    resumeFile: values['resume-file'] ?? env.UPLOAD_RESUME_FILE ?? defaultResumeFile(),
    retryDelays,
    api() {
      if (!token) {
        throw new UploadClientError(
          'usage',
          'no token: pass --token or set UPLOAD_TOKEN (in development: upload-cli token --sub NAME)',
        );
      }
      return { baseUrl: base, token, tusPath, retryDelays, onRetry: (notice) => context.retrying(notice) };
    },
    print(result, text) {
      process.stdout.write(json ? `${JSON.stringify(result)}\n` : `${text}\n`);
    },
    note(text) {
      if (json) return;
      bar?.pause();
      process.stderr.write(`upload-cli: ${text}\n`);
    },
    retrying({ error, delayMs, attempt, attempts }) {
      context.note(`${error.message}, retrying in ${delayMs / 1000} s (attempt ${attempt} of ${attempts})`);
    },
    progress(label) {
      bar = progressBar(interactive, label);
      return bar;
    },
  };
  return context;
}
