// OPTIONS: what the server supports (tus core), with no token needed.
import { CHECKSUM_ALGORITHMS } from '../../store/write/checksum.js';
import type { TusHandler } from './context.js';
import { TUS_EXTENSIONS } from './extensions.js';
import { TUS_VERSION } from './headers.js';

export const tusOptions: TusHandler = async (deps, { res }) => {
  res
    .set({
      'Tus-Resumable': TUS_VERSION,
      'Tus-Version': TUS_VERSION,
      'Tus-Extension': TUS_EXTENSIONS.join(','),
      'Tus-Max-Size': String(deps.service.policy.largestLimit),
      'Tus-Checksum-Algorithm': CHECKSUM_ALGORITHMS.join(','),
    })
    .status(204)
    .end();
};
