/** The frame every page shares: the top bar, and the loading, empty and error states. */
import { chooseDemoUser, type Session } from './auth.js';
import { loadErrorWords, technicalDetails } from './error-words.js';
import { h } from './dom.js';

export type PageName = 'session' | 'admin';

export function topBar(current: PageName, session: Session | null): HTMLElement {
  const nav = h(
    'nav',
    { class: 'topbar-nav', 'aria-label': 'Pages' },
    h(
      'a',
      {
        href: '/',
        class: current === 'session' ? 'active' : '',
        'aria-current': current === 'session' ? 'page' : null,
      },
      'Session',
    ),
    // Display only: a non-admin who types /admin gets the server's refusal; an auditor gets a read-only view.
    session?.isAdmin || session?.isAuditor || current === 'admin'
      ? h(
          'a',
          {
            href: '/admin',
            class: current === 'admin' ? 'active' : '',
            'aria-current': current === 'admin' ? 'page' : null,
          },
          'Admin',
        )
      : null,
  );
  return h(
    'header',
    { class: 'topbar' },
    h(
      'a',
      { class: 'brand', href: '/' },
      h('span', { class: 'brand-mark', 'aria-hidden': 'true' }),
      'Sortie',
      h('span', { class: 'brand-sub' }, 'Recording'),
    ),
    nav,
    h('div', { class: 'topbar-spacer' }),
    identity(session),
  );
}

function identity(session: Session | null): HTMLElement | null {
  if (!session) return null;
  if (!session.demo) {
    return h(
      'div',
      { class: 'identity' },
      h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(session.name)),
      h('span', {}, session.name),
    );
  }
  const select = h(
    'select',
    {
      id: 'demo-as',
      'aria-label': 'Act as',
      onchange: (e: Event) => {
        chooseDemoUser((e.target as HTMLSelectElement).value as never);
        location.reload();
      },
    },
    ...session.demo.users.map((u) =>
      h(
        'option',
        { value: u.as, selected: u.as === session.demo!.as },
        `${u.name}${u.role === 'admin' || u.role === 'auditor' ? ` (${u.role})` : ''}`,
      ),
    ),
  );
  return h(
    'label',
    { class: 'identity demo' },
    h('span', { class: 'badge' }, 'Demo'),
    h('span', { class: 'muted' }, 'Acting as'),
    select,
  );
}

function initials(name: string): string {
  return name
    .split(/\s+/)
    .map((w) => w[0] ?? '')
    .join('')
    .slice(0, 2)
    .toUpperCase();
}

export function loading(label = 'Loading…'): HTMLElement {
  return h(
    'div',
    { class: 'state state-loading', role: 'status' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }),
    label,
  );
}

export function empty(title: string, detail?: string): HTMLElement {
  return h(
    'div',
    { class: 'state state-empty' },
    h('p', { class: 'state-title' }, title),
    detail ? h('p', { class: 'muted' }, detail) : null,
  );
}

export function errorState(err: unknown, retry?: () => void): HTMLElement {
  return h(
    'div',
    { class: 'state state-error', role: 'alert' },
    h('p', { class: 'state-title' }, 'Something went wrong'),
    h('p', { class: 'muted' }, loadErrorWords(err)),
    technicalDetails(err),
    retry ? h('button', { class: 'btn', type: 'button', onclick: retry }, 'Try again') : null,
  );
}

/** A full-page message in place of the page's content (no access, feature off, no token). */
export function notice(kind: 'info' | 'warn', title: string, detail: string): HTMLElement {
  return h(
    'section',
    { class: `notice notice-${kind}`, role: kind === 'warn' ? 'alert' : 'status' },
    h('h2', {}, title),
    h('p', {}, detail),
  );
}

let toastHost: HTMLElement | null = null;

/** A short message in the corner: what just happened (deleted, saved, failed). */
export function toast(message: string, kind: 'ok' | 'error' = 'ok', detail?: string): void {
  if (!toastHost) {
    toastHost = h('div', { class: 'toasts', 'aria-live': 'polite' });
    document.body.append(toastHost);
  }
  // The technical detail, when there is one, on hover: the words say what happened and what to do.
  const el = h(
    'div',
    { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status', title: detail ?? null },
    message,
  );
  toastHost.append(el);
  setTimeout(() => el.remove(), 4000);
}
