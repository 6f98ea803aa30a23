/** The legal-hold mark of a recording row: a "Held" pill whose title says why, since when and by whom. */
import type { Recording } from './api.js';
import { h } from './dom.js';
import { formatDate } from './format.js';

export function holdBadge(rec: Recording): HTMLElement | null {
  const hold = rec.hold;
  if (!hold) return null;
  return h(
    'span',
    {
      class: 'pill pill-held',
      'data-held': 'true',
      title: `On legal hold: ${hold.reason} (placed ${formatDate(hold.heldAt)} by ${hold.heldBy})`,
    },
    'Held',
  );
}

/** Why Delete is off on a held row: the service refuses every delete of it until the hold is released. */
export const HELD_DELETE_TITLE = 'On legal hold: release the hold before deleting this recording';
