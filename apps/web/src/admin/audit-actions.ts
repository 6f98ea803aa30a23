/** The audit trail's actions as the Audit tab offers them in its filter, with a label each. */
import type { AuditAction } from './admin-api.js';

/** Every action of the contract (docs/API.md "Audit trail"); the Record fails to compile when one is missing. */
export const AUDIT_ACTION_LABEL: Record<AuditAction, string> = {
  'recording.delete': 'Deleted a recording',
  'recording.download': 'Downloaded a recording',
  'recording.download_url': 'Asked for a download link',
  'recording.thumbnails': 'Read thumbnails',
  'recording.view': 'Read a recording',
  'recording.seal': 'Read a seal',
  'recording.markers': 'Read markers',
  'recording.list': 'Listed recordings',
  'recording.hold': 'Placed a legal hold',
  'recording.release': 'Released a legal hold',
  'settings.update': 'Changed settings',
  'retention.delete': 'Retention deleted',
  'sweeper.finalize': 'Sweeper finalized',
  'sweeper.fail': 'Sweeper failed',
  'audit.list': 'Read the audit trail',
  'audit.verify': 'Verified the audit trail',
  'audit.export': 'Exported the audit trail',
};

export const AUDIT_ACTIONS = Object.keys(AUDIT_ACTION_LABEL) as AuditAction[];
