/**
 * How the pages reach the service. Everything about recordings goes through
 * the SDK's clients (ApiClient for a user's own recordings, the admin client
 * for the admin routes); only the demo sign-in, which is not part of the
 * product API, is a plain fetch here.
 */
import {
  ApiClient,
  RecorderError,
  type Page,
  type Recording,
  type RecordingConfig,
  type RecordingStatus,
} from '@sortie/recorder';

export type { Recording, RecordingConfig, RecordingStatus };
export type RecordingsPage = Page<Recording>;

/** The HTTP status behind an error, when it came from a response (0 otherwise). */
export function statusOf(err: unknown): number {
  return (err instanceof RecorderError || err instanceof HttpError) && err.status ? err.status : 0;
}

/** A non-2xx answer of a plain call (demo sign-in). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** One JSON call without a token: the demo sign-in endpoints. */
export async function plainJson<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    ...(body === undefined ? {} : { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }),
  }).catch(() => {
    throw new HttpError(0, 'The service cannot be reached. Check your connection and try again.');
  });
  const data = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
  if (!res.ok) throw new HttpError(res.status, data?.error?.message ?? `The service answered ${res.status}.`);
  return data as T;
}

/** Single attempts: a page shows an error with "Try again" rather than spinning through retries. */
const NO_RETRY = { attempts: 1 } as const;

/** The calls a signed-in user makes about their own recordings. */
export function userApi(getToken: () => Promise<string>) {
  const client = new ApiClient({ getToken, retry: NO_RETRY });
  return {
    /** null when recording is disabled on this deployment (every route 404s). */
    async config(): Promise<RecordingConfig | null> {
      try {
        return await client.config();
      } catch (err) {
        if (err instanceof RecorderError && err.code === 'disabled') return null;
        throw err;
      }
    },
    list: (query: { sessionId?: string; status?: RecordingStatus; limit?: number; cursor?: string } = {}) =>
      client.listRecordings(query),
    downloadUrl: (id: string) => client.downloadUrl(id),
    remove: (id: string) => client.deleteRecording(id),
  };
}

export type UserApi = ReturnType<typeof userApi>;
