/**
 * A recording's timeline on the wire (docs/API.md "Markers and thumbnails"):
 * markers gathered and sent in batches while recording, the SDK's own
 * lifecycle markers (network lost / back), and the PUT of one thumbnail.
 * Best effort: a marker or thumbnail that cannot be sent after the API's
 * retries is dropped, never a reason to stop or fail the recording.
 */
import type { MarkerInput } from '@sortie/contract';
import { errorFromResponse, send, type ApiClient } from './api.js';

/** How long marks gather before a batch is sent: a burst of marks is one request, and none waits long. */
const BATCH_DELAY_MS = 1000;
/** The service's cap per request (docs/API.md). */
const BATCH_MAX = 100;

export class MarkerQueue {
  private pending: MarkerInput[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The batches in flight, in order. */
  private sending: Promise<void> = Promise.resolve();
  private readonly onNetwork = (e: Event) => this.add(e.type === 'online' ? 'network back' : 'network lost', 'sdk');

  constructor(
    private readonly api: ApiClient,
    /** The recording's id, once the service has created it (marks wait for it). */
    private readonly id: () => string | undefined,
    /** Where in the recording "now" is: recorded ms, pauses excluded. */
    private readonly offset: () => number,
  ) {
    if (typeof window !== 'undefined') {
      window.addEventListener('online', this.onNetwork);
      window.addEventListener('offline', this.onNetwork);
    }
  }

  add(label: string, source: 'app' | 'sdk', data?: unknown): void {
    this.pending.push({
      offsetMs: this.offset(),
      label: label.slice(0, 200),
      source,
      ...(data !== undefined ? { data } : {}),
    });
    this.timer ??= setTimeout(() => void this.flush(), BATCH_DELAY_MS);
  }

  /** Sends what is pending (once the recording exists); resolves when every batch so far is answered. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const id = this.id();
    while (id && this.pending.length) {
      const markers = this.pending.splice(0, BATCH_MAX);
      this.sending = this.sending.then(() =>
        this.api.request<void>('POST', `/api/recordings/${id}/markers`, { body: { markers } }).catch(() => {}),
      );
    }
    return this.sending;
  }

  /** Stops listening for the network; what is pending is sent. */
  close(): Promise<void> {
    if (typeof window !== 'undefined') {
      window.removeEventListener('online', this.onNetwork);
      window.removeEventListener('offline', this.onNetwork);
    }
    return this.flush();
  }
}

/** PUTs one JPEG thumbnail of recording `id` at `offsetMs`; a 401 gets one more try with a fresh token. */
export async function putThumbnail(api: ApiClient, id: string, offsetMs: number, jpeg: Blob): Promise<void> {
  const url = `${api.baseUrl}/api/recordings/${id}/thumbnails/${Math.round(offsetMs)}`;
  const put = async (fresh: boolean) =>
    send(api.fetch, url, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${await api.getToken(fresh)}`, 'Content-Type': 'image/jpeg' },
      body: jpeg,
    });
  let res = await put(false);
  if (res.status === 401) res = await put(true);
  if (!res.ok) throw await errorFromResponse(res, 'PUT thumbnail');
}
