/**
 * Legal hold in the admin Recordings tab: the "Held" filter of the search, and the dialog that places a hold
 * (its reason is required) or releases one (a reason is optional), through PUT /api/admin/recordings/:id/hold.
 */
import type { Recording } from '../shared/api.js';
import { h } from '../shared/dom.js';
import { toast } from '../shared/layout.js';
import type { AdminApi } from './admin-api.js';

/** The search's "Held" choice: any recording, only held ones, or only those not held. */
export function heldSelect(): HTMLSelectElement {
  return h(
    'select',
    { name: 'held' },
    h('option', { value: '' }, 'Held or not'),
    h('option', { value: 'true' }, 'Held only'),
    h('option', { value: 'false' }, 'Not held'),
  );
}

/** Asks for the reason, then places or releases the hold; `onChanged` reloads the list after a change. */
export async function holdDialog(api: AdminApi, rec: Recording, onChanged: () => void): Promise<void> {
  const placing = !rec.hold;
  const reason = await askReason(placing, rec);
  if (reason === null) return;
  try {
    await api.setHold(rec.id, placing ? { hold: true, reason } : reason ? { hold: false, reason } : { hold: false });
    toast(placing ? 'Legal hold placed.' : 'Legal hold released.');
  } catch (err) {
    toast(`Could not ${placing ? 'place' : 'release'} the hold: ${(err as Error).message}`, 'error');
  }
  onChanged();
}

/** The reason typed, or null when the dialog is cancelled. A hold needs one; a release may go without. */
function askReason(placing: boolean, rec: Recording): Promise<string | null> {
  return new Promise((resolve) => {
    const reason = h('textarea', {
      name: 'reason',
      rows: 3,
      maxlength: 500,
      required: placing,
      class: 'hold-reason',
      'aria-label': 'Reason',
    });
    const dialog = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': 'hold-title' },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: 'hold-title' }, placing ? 'Place a legal hold' : 'Release the legal hold'),
        h(
          'p',
          {},
          placing
            ? `No delete (the owner's, an admin's, bulk or retention) removes the recording of session ${rec.sessionId} while it is held. The reason is kept with the hold and in the audit trail.`
            : `Held because: ${rec.hold?.reason ?? ''}. Once released, the recording can be deleted again.`,
        ),
        h('label', { class: 'field' }, placing ? 'Reason (required)' : 'Reason (optional)', reason),
        h(
          'div',
          { class: 'dialog-actions' },
          h('button', { class: 'btn', value: 'cancel', type: 'submit', formnovalidate: true }, 'Cancel'),
          h(
            'button',
            { class: 'btn btn-primary', value: 'confirm', type: 'submit' },
            placing ? 'Place hold' : 'Release hold',
          ),
        ),
      ),
    );
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'confirm' ? reason.value.trim() : null);
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    reason.focus();
  });
}
