/** Modal dialogs on the native <dialog>: delete confirmation (the player's is player-dialog.ts). */
import { h } from './dom.js';

/** Resolves true when the user confirms. */
export function confirmDialog(opts: {
  title: string;
  body: string;
  confirm: string;
  danger?: boolean;
  /** Said first and set apart: what the person might not know (the recording is still in progress). */
  warning?: string;
  /** What is about to go, by name (a list after the body). */
  items?: string[];
}): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': 'confirm-title' },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: 'confirm-title' }, opts.title),
        opts.warning ? h('p', { class: 'dialog-warning', 'data-testid': 'confirm-warning' }, opts.warning) : null,
        h('p', {}, opts.body),
        opts.items?.length
          ? h('ul', { class: 'dialog-list', 'data-testid': 'confirm-items' }, ...opts.items.map((t) => h('li', {}, t)))
          : null,
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

/** The player dialog lives in player-dialog.ts; kept importable from here. */
export { playerDialog } from './player-dialog.js';

/** Shows a link to copy by hand (where the clipboard is refused), selected, with a Close button. */
export function linkDialog(url: string, note: string, title = 'Download link'): void {
  const input = h('input', {
    type: 'text',
    readonly: true,
    value: url,
    'aria-label': title,
    class: 'link-input',
  });
  const dialog = h(
    'dialog',
    { class: 'dialog', 'aria-labelledby': 'link-title' },
    h(
      'form',
      { method: 'dialog' },
      h('h2', { id: 'link-title' }, title),
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
