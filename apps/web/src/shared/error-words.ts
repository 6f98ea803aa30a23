/**
 * What an error means to the person looking at the page, in words: what
 * happened and what to do. The technical message (method, path, status) stays
 * available to whoever needs it, in a <details> or a title, never in its place.
 */
import { RecorderError } from '@sortie/recorder';
import { h } from './dom.js';

const technical = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** True for the service's "no such recording" (deleted, or never there). */
export function isGone(err: unknown): boolean {
  return err instanceof RecorderError && err.status === 404 && err.serverCode === 'not_found';
}

/** The record button's error, in words; null leaves the SDK's own message (nothing better to say). */
export function recorderErrorWords(err: unknown): string | null {
  if (!(err instanceof RecorderError)) return null;
  if (isGone(err))
    return 'This recording was deleted by an administrator while it was recording; what was recorded after that is not kept. Press Record to start a new one.';
  switch (err.code) {
    case 'network':
      return 'The recording service cannot be reached. Check your connection; press Record to try again.';
    case 'upload_blocked':
      return 'The recording cannot reach its storage right now; it keeps trying. Tell your administrator if this stays.';
    case 'unauthorized':
      return 'Your sign-in has expired. Reload the page to sign in again, then press Record.';
    case 'unsupported':
      return 'This browser cannot record this session. Use a recent Chrome, Edge or Firefox.';
    case 'capture':
      return 'The browser stopped capturing the session. Press Record to start a new recording.';
    case 'disabled':
      return 'Recording is switched off on this service.';
    case 'http':
      return err.status && err.status >= 500
        ? 'The recording service had a problem; what was uploaded is kept. Press Record to try again, or tell your administrator.'
        : null;
    default:
      return null;
  }
}

/** A sentence for a failed action in the pages (open, delete, link), with the technical message kept in a title. */
export function actionErrorWords(what: string, err: unknown): string {
  if (isGone(err)) return `${what}: this recording no longer exists (it was deleted). Reload the list.`;
  if (err instanceof RecorderError && err.code === 'network')
    return `${what}: the service cannot be reached. Check your connection and try again.`;
  if (err instanceof RecorderError && err.code === 'unauthorized')
    return `${what}: your sign-in has expired. Reload the page to sign in again.`;
  return `${what}. Try again; if it keeps failing, tell your administrator.`;
}

/** Why something could not be loaded, in words (the page's error state). */
export function loadErrorWords(err: unknown): string {
  const status = err instanceof RecorderError ? err.status : undefined;
  if (err instanceof RecorderError && err.code === 'network')
    return 'The service cannot be reached. Check your connection and try again.';
  if (status === 401) return 'Your sign-in has expired. Reload the page to sign in again.';
  if (status === 403) return 'You do not have access to this. Ask your administrator if you need it.';
  if (status && status >= 500)
    return 'The service had a problem. Try again; if it keeps failing, tell your administrator.';
  return 'Try again; if it keeps failing, tell your administrator.';
}

/** The technical message, folded away under the words. */
export function technicalDetails(err: unknown): HTMLElement {
  return h(
    'details',
    { class: 'technical-details small' },
    h('summary', {}, 'Technical details'),
    h('code', {}, technical(err)),
  );
}

export { technical as technicalMessage };
