// upload-cli's command line: the commands, their options, the environment variables they fall
// back to, and the help text.
import { parseArgs } from 'node:util';
import { UploadClientError } from '../errors.js';

export const USAGE = `Usage: upload-cli <command> [options]

Commands:
  upload FILE               upload a file (stopped, the same command again resumes it)
  status ID                 show an upload session
  list                      list your upload sessions
  cancel ID                 cancel an unfinished upload and delete its bytes on the server
  download ASSET_ID         download an asset (-o FILE, or - for stdout; default: its file name)
  token --sub NAME          mint a development token with the server's dev secret

Options:
  --endpoint URL            server base URL (env UPLOAD_URL, default http://localhost:1080)
  --tus-path PATH           the tus endpoint on the server (env UPLOAD_TUS_PATH, default /files)
  --token JWT               bearer token (env UPLOAD_TOKEN)
  --json                    print one JSON object on stdout (errors too), no progress bar
  -q, --quiet               no progress bar
  --retries N               retries of a server that does not answer or answers 5xx, waiting
                            0.5 s, 1 s, 2 s ... 30 s between them (default 7, about a minute)
  -h, --help                this text

upload:
  --chunk-size SIZE         bytes per request, e.g. 5MiB (default 10MiB); smaller files go in one request
  --parallel N              upload N parts at once and join them on the server (default 1)
  --asset-type TYPE         model, texture, audio, video, image or other (default other)
  --content-type TYPE       MIME type (default: guessed from the file name)
  --name NAME               file name stored with the asset (default: the file's own)
  --no-checksum             do not send Upload-Checksum (sha256) with each request
  --no-resume               start over even if an unfinished upload of this file exists
  --resume-file PATH        where unfinished uploads are remembered
                            (env UPLOAD_RESUME_FILE, default ~/.upload-client/resume.json)
list:
  --status STATUS           initiated, uploading, paused, completed, failed, cancelled or expired
  --limit N                 at most N sessions (default 50)
download:
  -o, --output FILE         where to write the asset
  --force                   overwrite FILE if it exists
token:
  --sub NAME                the owner the token stands for
  --ttl DURATION            lifetime: 30m, 24h, 7d, or seconds (default 24h)
  --data-dir DIR            the server's DATA_DIR (env DATA_DIR, default ./data)

Exit codes: 0 done, 1 failed, 2 usage error, 3 token refused or not yours, 4 not found,
            130 interrupted by Ctrl-C (resumable), 143 terminated (resumable).
`;

const OPTIONS = {
  endpoint: { type: 'string' },
  'tus-path': { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
  'chunk-size': { type: 'string' },
  parallel: { type: 'string' },
  'asset-type': { type: 'string' },
  'content-type': { type: 'string' },
  name: { type: 'string' },
  'no-checksum': { type: 'boolean' },
  'no-resume': { type: 'boolean' },
  'resume-file': { type: 'string' },
  status: { type: 'string' },
  limit: { type: 'string' },
  output: { type: 'string', short: 'o' },
  force: { type: 'boolean' },
  retries: { type: 'string' },
  sub: { type: 'string' },
  ttl: { type: 'string' },
  'data-dir': { type: 'string' },
} as const;

export const COMMANDS = ['upload', 'status', 'list', 'cancel', 'download', 'token', 'help'] as const;
export type Command = (typeof COMMANDS)[number];

export type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

export interface Invocation {
  command: Command;
  operands: string[];
  values: Values;
}

export function parseCommandLine(argv: string[]): Invocation {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UploadClientError('usage', (error as Error).message);
  }
  const [first, ...operands] = parsed.positionals;
  const command = parsed.values.help || first === undefined ? 'help' : first;
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new UploadClientError('usage', `unknown command ${JSON.stringify(command)}; try upload-cli --help`);
  }
  return { command: command as Command, operands, values: parsed.values };
}

/** The one operand a command takes, or a usage error naming it. */
export function operand(invocation: Invocation, name: string): string {
  const [value, ...extra] = invocation.operands;
  if (value === undefined) throw new UploadClientError('usage', `${invocation.command} needs ${name}`);
  if (extra.length > 0) throw new UploadClientError('usage', `unexpected arguments: ${extra.join(' ')}`);
  return value;
}
