// Turns zod validation failures into one readable validation_error.
import type { z } from 'zod';
import { UploadError } from '../../store/errors.js';

export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    return `${where}${issue.message}`;
  });
  throw new UploadError('validation_error', `invalid ${what}: ${problems.join('; ')}`);
}
