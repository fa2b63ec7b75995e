// OPTIONS: what the server supports (tus core), with no token needed. Tus-Extension is derived
// from the implementation (extensions.ts), given by the dispatcher that owns the handler tables.
import { CHECKSUM_ALGORITHMS } from '../../store/write/checksum.js';
import type { TusDeps, TusHandler } from './context.js';
import type { TusCapabilities } from './extensions.js';
import { tusExtensions } from './extensions.js';
import { TUS_VERSION } from './headers.js';

/** The tus headers of an OPTIONS answer (the draft's OPTIONS sends them too). */
export function optionsHeaders(deps: TusDeps, capabilities: Omit<TusCapabilities, 'expires'>): Record<string, string> {
  const extensions = tusExtensions({ ...capabilities, expires: deps.service.sessionTtlMs > 0 });
  return {
    'Tus-Resumable': TUS_VERSION,
    'Tus-Version': TUS_VERSION,
    'Tus-Extension': extensions.join(','),
    'Tus-Max-Size': String(deps.service.policy.largestLimit),
    'Tus-Checksum-Algorithm': CHECKSUM_ALGORITHMS.join(','),
  };
}

export function tusOptions(capabilities: Omit<TusCapabilities, 'expires'>): TusHandler {
  return async (deps, { res }) => {
    res.set(optionsHeaders(deps, capabilities)).status(204).end();
  };
}
