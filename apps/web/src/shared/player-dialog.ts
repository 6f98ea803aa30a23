/** The player in a modal <dialog>: the recording's facts, the player, Download; the address follows the position. */
import type { Recording } from './api.js';
import { startDownload } from './dialogs.js';
import { h } from './dom.js';
import { formatBytes, formatDate, formatDuration } from './format.js';
import { copyLink } from './copy-link.js';
import { linkProblemDialog } from './link-problem.js';
import { createPlayer } from './player.js';
import { clearPlayerLink, playerLinkUrl, writePlayerLink } from './player-link.js';
import type { TimelineApi } from './timeline-api.js';

export function playerDialog(
  rec: Recording,
  url: string,
  onDownload: () => void,
  opts: { timeline?: TimelineApi; startAt?: number } = {},
): void {
  const player = createPlayer({
    src: url,
    durationMs: rec.durationMs,
    startAt: opts.startAt ?? 0,
    markers: opts.timeline?.markers(rec.id),
    thumbnails: opts.timeline?.thumbnails(rec.id),
    onPosition: (t) => writePlayerLink(rec.id, t),
  });
  player.video.dataset.recordingId = rec.id;
  const dialog = h(
    'dialog',
    { class: 'dialog dialog-player', 'aria-label': `Recording of session ${rec.sessionId}` },
    h(
      'div',
      { class: 'player-head' },
      h(
        'div',
        {},
        h('h2', {}, `Session ${rec.sessionId}`),
        h(
          'p',
          { class: 'muted' },
          `${rec.userName ?? rec.userId} · ${formatDate(rec.createdAt)} · ${formatDuration(rec.durationMs)} · ${formatBytes(rec.sizeBytes)}`,
        ),
      ),
      h(
        'form',
        { method: 'dialog' },
        h('button', { class: 'btn btn-ghost', type: 'submit', 'aria-label': 'Close player' }, '✕'),
      ),
    ),
    player.element,
    playerActions(rec, player.video, onDownload),
  );
  dialog.addEventListener('close', () => {
    player.destroy();
    clearPlayerLink();
    dialog.remove();
  });
  writePlayerLink(rec.id, opts.startAt ?? 0);
  document.body.append(dialog);
  dialog.showModal();
  // The keys work at once: focus the player, not the dialog's first button.
  player.element.focus();
}

/** Below the player: a link to the moment it shows (the page's `#play=<id>&t=<s>`), and Download. */
function playerActions(rec: Recording, video: HTMLVideoElement, onDownload: () => void): HTMLElement {
  return h(
    'div',
    { class: 'dialog-actions' },
    h(
      'button',
      {
        class: 'btn',
        type: 'button',
        title: 'Copy a link that opens this recording at the moment shown (sign-in needed)',
        onclick: () => void copyLink(playerLinkUrl(rec.id, video.currentTime), 'Link to this moment'),
      },
      'Copy link to this moment',
    ),
    h('button', { class: 'btn', type: 'button', onclick: onDownload }, 'Download'),
  );
}

/**
 * Opens the player of a page's link (`#…play=<id>&t=<s>`, player-link.ts)
 * once the page is signed in: fetches the recording and a download URL, then
 * plays from `t`. A recording that is gone or cannot be opened says so in a dialog leading back to the list.
 */
export async function openPlayerFromLink(
  link: { id: string; t: number },
  timeline: TimelineApi,
  downloadUrl: (id: string) => Promise<{ url: string }>,
): Promise<void> {
  try {
    const rec = await timeline.recording(link.id);
    const { url } = await downloadUrl(rec.id);
    playerDialog(
      rec,
      url,
      () => startDownload(url, `recording-${rec.sessionId}.${rec.mimeType.startsWith('video/mp4') ? 'mp4' : 'webm'}`),
      { timeline, startAt: link.t },
    );
  } catch (err) {
    clearPlayerLink();
    linkProblemDialog(err);
  }
}
