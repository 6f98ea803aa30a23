/**
 * What a link to a recording shows when the recording cannot be opened: words
 * (gone, or why not), the technical message folded away, and a way back to
 * the list the page shows under the dialog.
 */
import { h } from './dom.js';
import { isGone, loadErrorWords, technicalDetails } from './error-words.js';

export function linkProblemDialog(err: unknown): void {
  const gone = isGone(err);
  const dialog = h(
    'dialog',
    { class: 'dialog', 'aria-labelledby': 'link-problem-title', 'data-testid': 'link-problem' },
    h(
      'form',
      { method: 'dialog' },
      h(
        'h2',
        { id: 'link-problem-title' },
        gone ? 'This recording no longer exists' : 'This recording cannot be opened',
      ),
      h(
        'p',
        {},
        gone
          ? 'This recording no longer exists (it was deleted or never existed). The list shows the recordings there are.'
          : loadErrorWords(err),
      ),
      technicalDetails(err),
      h(
        'div',
        { class: 'dialog-actions' },
        h('button', { class: 'btn btn-primary', type: 'submit' }, 'Back to the list'),
      ),
    ),
  );
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}
