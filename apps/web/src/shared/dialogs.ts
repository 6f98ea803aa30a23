/** Modal dialogs on the native <dialog>: delete confirmation and the player. */
import { h } from './dom.js';
import type { Recording } from './api.js';
import { formatBytes, formatDate, formatDuration } from './format.js';

/** Resolves true when the user confirms. */
export function confirmDialog(opts: {
  title: string;
  body: string;
  confirm: string;
  danger?: boolean;
}): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': 'confirm-title' },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: 'confirm-title' }, opts.title),
        h('p', {}, opts.body),
        h(
          'div',
          { class: 'dialog-actions' },
          h('button', { class: 'btn', value: 'cancel', type: 'submit' }, 'Cancel'),
          h(
            'button',
            { class: opts.danger ? 'btn btn-danger' : 'btn btn-primary', value: 'confirm', type: 'submit' },
            opts.confirm,
          ),
        ),
      ),
    );
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'confirm');
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Plays a recording from a header-less URL; the <video> seeks through HTTP ranges. */
export function playerDialog(rec: Recording, url: string, onDownload: () => void): void {
  const video = h('video', {
    class: 'player-video',
    controls: true,
    autoplay: true,
    preload: 'metadata',
    src: url,
    'data-recording-id': rec.id,
  });
  video.muted = true; // Recordings of a canvas carry no audio; muted also lets autoplay start.
  const dialog = h(
    'dialog',
    { class: 'dialog dialog-player', 'aria-label': `Recording ${rec.id}` },
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
    video,
    h(
      'div',
      { class: 'dialog-actions' },
      h('button', { class: 'btn', type: 'button', onclick: onDownload }, 'Download'),
    ),
  );
  dialog.addEventListener('close', () => {
    video.pause();
    video.removeAttribute('src');
    video.load();
    dialog.remove();
  });
  document.body.append(dialog);
  dialog.showModal();
}

/** Shows a link to copy by hand (where the clipboard is refused), selected, with a Close button. */
export function linkDialog(url: string, note: string): void {
  const input = h('input', {
    type: 'text',
    readonly: true,
    value: url,
    'aria-label': 'Download link',
    class: 'link-input',
  });
  const dialog = h(
    'dialog',
    { class: 'dialog', 'aria-labelledby': 'link-title' },
    h(
      'form',
      { method: 'dialog' },
      h('h2', { id: 'link-title' }, 'Download link'),
      h('p', {}, `Copy this link (Ctrl+C).${note}`),
      input,
      h('div', { class: 'dialog-actions' }, h('button', { class: 'btn btn-primary', type: 'submit' }, 'Close')),
    ),
  );
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  input.select();
}

/** Starts a browser download of a URL (the service or the bucket sends Content-Disposition: attachment). */
export function startDownload(url: string, filename: string): void {
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
}
