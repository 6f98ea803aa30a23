/**
 * A recording's poster in the lists: its first thumbnail (Recording.posterOffsetMs),
 * fetched once per recording with the bearer token and kept as an object URL
 * while the page lives (the lists re-render on every change); a placeholder
 * for a recording without thumbnails (older ones, one that ended too soon).
 */
import type { Recording } from './api.js';
import { h } from './dom.js';
import type { TimelineApi } from './timeline-api.js';

const posters = new Map<string, Promise<string>>();

export function posterCell(rec: Recording, timeline: TimelineApi): HTMLElement {
  const placeholder = () =>
    h('span', { class: 'poster poster-placeholder', 'data-poster': 'none', title: 'No thumbnails' }, '▶');
  if (rec.posterOffsetMs === null || rec.posterOffsetMs === undefined) return placeholder();
  const img = h('img', { class: 'poster', alt: '', width: 64, height: 36, 'data-poster': 'loading' });
  let url = posters.get(rec.id);
  if (!url) {
    url = timeline.poster(rec);
    posters.set(rec.id, url);
    url.catch(() => posters.delete(rec.id));
  }
  url.then(
    (src) => {
      img.src = src;
      img.dataset.poster = 'shown';
    },
    () => img.replaceWith(placeholder()),
  );
  return img;
}
