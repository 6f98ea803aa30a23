/** "Copy link": a page link to a recording (or to a moment of it) onto the clipboard, or shown to copy by hand. */
import { linkDialog } from './dialogs.js';
import { toast } from './layout.js';

export async function copyLink(url: string, what: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(url);
    toast(`${what} copied. Whoever opens it signs in first and needs access to the recording.`);
  } catch {
    // No clipboard (permission refused, an insecure origin): show the link to copy by hand.
    linkDialog(url, ' Whoever opens it signs in first.', what);
  }
}
