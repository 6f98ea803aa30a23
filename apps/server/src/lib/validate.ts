/** zod validation whose failures become our 400 invalid_request with a readable message. */
import { zValidator } from '@hono/zod-validator';
import type { ValidationTargets } from 'hono';
import type { ZodType } from 'zod';
import { badRequest } from '../errors.js';

export function validate<T extends ZodType, Target extends keyof ValidationTargets>(target: Target, schema: T) {
  return zValidator(target, schema, (result) => {
    if (!result.success) {
      const issue = result.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      throw badRequest(`Invalid ${target === 'json' ? 'body' : target}: ${where}${issue?.message ?? 'invalid'}.`);
    }
  });
}
