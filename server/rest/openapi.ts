// GET /storage/openapi.json: the REST API's machine-readable contract, docs/openapi.json as it is
// in the repository (bundled into the build). No token: a contract is no secret. The REST tests
// validate every response they get against the same document (test/helpers/openapi.ts).
import { Router } from 'express';
import contract from '../../docs/openapi.json' with { type: 'json' };

export const OPENAPI_PATH = '/storage/openapi.json';

export function openApiRoute(): Router {
  const router = Router();
  router.get(OPENAPI_PATH, (_req, res) => {
    res.set('Cache-Control', 'no-cache').json(contract);
  });
  return router;
}
