/**
 * A recording's markers, thumbnails and poster (docs/API.md "Markers and
 * thumbnails"): owner-or-admin routes, so the same calls serve "My recordings"
 * and the admin panel, each with its own token.
 */
import { ApiClient } from '@sortie/recorder';
import type { Recording } from './api.js';
import type { Marker, Thumbnail } from './player.js';

export interface TimelineApi {
  recording(id: string): Promise<Recording>;
  markers(id: string): Promise<Marker[]>;
  thumbnails(id: string): Promise<Thumbnail[]>;
  /** An object URL of the recording's poster (its first thumbnail); revoke it when done. */
  poster(rec: Recording): Promise<string>;
}

export function timelineApi(getToken: () => Promise<string>): TimelineApi {
  // Single attempts, as the rest of the pages: a missing picture is not worth retrying.
  const client = new ApiClient({ getToken, retry: { attempts: 1 } });
  const path = (id: string, rest = '') => `/api/recordings/${encodeURIComponent(id)}${rest}`;
  return {
    recording: (id) => client.request<Recording>('GET', path(id)),
    markers: async (id) => (await client.request<{ items: Marker[] }>('GET', path(id, '/markers'))).items,
    thumbnails: async (id) => (await client.request<{ items: Thumbnail[] }>('GET', path(id, '/thumbnails'))).items,
    async poster(rec) {
      // The image route is not JSON: a plain fetch with the bearer token, turned into an object URL for <img>.
      const res = await fetch(client.baseUrl + path(rec.id, `/thumbnails/${rec.posterOffsetMs}`), {
        headers: { Authorization: `Bearer ${await client.getToken()}` },
      });
      if (!res.ok) throw new Error(`poster: ${res.status}`);
      return URL.createObjectURL(await res.blob());
    },
  };
}

/**
 * The page's timeline client, set once by each page's main (one signed-in user
 * per page), so that every recordings table shows posters and opens the full
 * player without each list passing it along.
 */
let current: TimelineApi | undefined;

export function setPageTimeline(api: TimelineApi): void {
  current = api;
}

export function pageTimeline(): TimelineApi | undefined {
  return current;
}
