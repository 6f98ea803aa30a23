/**
 * Domain errors: a machine-readable code and a sentence for the user, thrown
 * by the services and the routes alike. They know nothing of HTTP: the one
 * error handler (app.ts onError) maps each code to its status through
 * httpStatus() and writes the JSON body of docs/API.md ("Errors").
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
  | 'request_timeout'
  | 'too_many_requests'
  | 'insufficient_storage'
  | 'service_unavailable'
  | 'internal';

export class DomainError extends Error {
  /** Seconds after which the same request may succeed (busy, disk full); sent as Retry-After. */
  readonly retryAfterSeconds: number | undefined;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(message, options);
    this.name = 'DomainError';
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  /** The request itself is at fault (4xx): sending it again unchanged will not help. */
  get isClientFault(): boolean {
    return httpStatus(this.code) < 500 && this.code !== 'too_many_requests' && this.code !== 'request_timeout';
  }
}

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  request_timeout: 408,
  too_many_requests: 429,
  insufficient_storage: 507,
  service_unavailable: 503,
  internal: 500,
};

/** The HTTP status of an error code: used only by the error handler. */
export function httpStatus(code: ErrorCode): ContentfulStatusCode {
  return STATUS[code];
}

export const badRequest = (m: string) => new DomainError('invalid_request', m);
export const unauthorized = (m = 'A valid bearer token is required.') => new DomainError('unauthorized', m);
export const forbidden = (m = 'Administrator rights are required.') => new DomainError('forbidden', m);
export const notFound = (m = 'Recording not found.') => new DomainError('not_found', m);
export const conflict = (m: string) => new DomainError('conflict', m);
export const tooLarge = (m: string) => new DomainError('payload_too_large', m);

/** The JSON body of every error answer, checked against the contract's (every code here must be one of its codes). */
export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}
