// upload-cli: parses the command line, runs the command, and turns every outcome into a message
// and an exit code a script can rely on (see exit-codes.ts).
import { isUploadClientError } from '../errors.js';
import { parseCommandLine, USAGE } from './args.js';
import { cancelCommand, downloadCommand, listCommand, statusCommand, tokenCommand } from './commands.js';
import { type CliContext, cliContext } from './context.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { uploadCommand } from './upload-command.js';

async function run(argv: string[]): Promise<number> {
  let context: CliContext | undefined;
  const json = argv.includes('--json');
  try {
    const invocation = parseCommandLine(argv);
    context = cliContext(invocation.values);
    switch (invocation.command) {
      case 'help':
        process.stdout.write(USAGE);
        return EXIT.ok;
      case 'upload':
        return await uploadCommand(invocation, context);
      case 'status':
        return await statusCommand(invocation, context);
      case 'list':
        return await listCommand(invocation, context);
      case 'cancel':
        return await cancelCommand(invocation, context);
      case 'download':
        return await downloadCommand(invocation, context);
      case 'token':
        return await tokenCommand(invocation, context);
    }
  } catch (error) {
    const known = isUploadClientError(error);
    const code = known ? exitCodeFor(error.kind) : EXIT.failure;
    const message = error instanceof Error ? error.message : String(error);
    if (json) {
      const body = known
        ? { error: error.kind, message, status: error.status ?? null }
        : { error: 'internal', message };
      process.stdout.write(`${JSON.stringify(body)}\n`);
    } else {
      process.stderr.write(`upload-cli: ${message}\n`);
      if (code === EXIT.usage && !known) process.stderr.write(USAGE);
    }
    return code;
  }
}

process.exit(await run(process.argv.slice(2)));
