/**
 * Errors with a machine-readable code and an HTTP status, turned into the
 * JSON body of API.md §3 in exactly one place (app.ts onError).
 */
import type { ErrorBody } from '@sortie/contract';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export type ErrorCode =
  | 'invalid_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'service_unavailable'
  | 'internal';

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  service_unavailable: 503,
  internal: 500,
};

export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ApiError';
    this.status = STATUS[code];
  }
}

export const badRequest = (m: string) => new ApiError('invalid_request', m);
export const unauthorized = (m = 'A valid bearer token is required.') => new ApiError('unauthorized', m);
export const forbidden = (m = 'Administrator rights are required.') => new ApiError('forbidden', m);
export const notFound = (m = 'Recording not found.') => new ApiError('not_found', m);
export const conflict = (m: string) => new ApiError('conflict', m);
export const tooLarge = (m: string) => new ApiError('payload_too_large', m);

/** The JSON body of every error answer, checked against the contract's (every code here must be one of its codes). */
export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}
