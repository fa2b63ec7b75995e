#!/usr/bin/env node
// The `upload-cli` command: registers tsx so Node runs the TypeScript sources, then runs the CLI.
import { register } from 'tsx/esm/api';

register();
await import('./cli/main.ts');
