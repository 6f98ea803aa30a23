/**
 * The one error class of the SDK. Every failure a caller can see is a
 * RecorderError with a machine-readable `code`; HTTP failures also carry the
 * status and the server's own error code (docs/API.md "3. Errors").
 */

export type RecorderErrorCode =
  /** The browser has no MediaRecorder, no captureStream, or no WebM/MP4 type. */
  | 'unsupported'
  /** A call that the current state does not allow (e.g. stop() while idle). */
  | 'invalid_state'
  /** Recording is switched off on the service (its routes answer 404). */
  | 'disabled'
  /** The network failed (fetch threw) and retries ran out. */
  | 'network'
  /**
   * Part uploads keep failing before reaching their server (network or CORS; the message names the
   * origin). Informational: the recorder keeps retrying and its `uploadState` is 'stalled' until a part
   * is stored.
   */
  | 'upload_blocked'
  /** The service refused the token, even a fresh one from getToken. */
  | 'unauthorized'
  /** The service said no: any other 4xx/5xx after retries. See `status`, `serverCode`. */
  | 'http'
  /** The recording reached the size limit (the recorder stops itself; informational). */
  | 'size_limit'
  /** MediaRecorder reported an error. */
  | 'capture'
  /** The caller aborted. */
  | 'aborted';

export class RecorderError extends Error {
  override readonly name = 'RecorderError';
  readonly code: RecorderErrorCode;
  /** HTTP status when the error came from a response. */
  readonly status: number | undefined;
  /** The service's `error.code` (docs/API.md "3. Errors") when it sent one. */
  readonly serverCode: string | undefined;

  constructor(
    code: RecorderErrorCode,
    message: string,
    opts: { status?: number; serverCode?: string; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.status = opts.status;
    this.serverCode = opts.serverCode;
  }
}

export function isRecorderError(err: unknown): err is RecorderError {
  return err instanceof RecorderError;
}
