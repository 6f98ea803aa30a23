/**
 * Who the page acts as.
 *
 * Outside demo mode the page takes the token Sortie gives it, first found of:
 *   1. `#token=<jwt>` in the URL (moved to sessionStorage and removed from the
 *      address bar, so it is not bookmarked or shared by accident);
 *   2. `window.SORTIE_TOKEN`, set by a host page before this script runs;
 *   3. sessionStorage `sortie.token` (a token from step 1 earlier in this tab).
 *
 * Each request asks again (Session.getToken), so a host that refreshes the
 * token is heard without a reload: `window.SORTIE_TOKEN` if set, else
 * sessionStorage `sortie.token`, else the token the page started with.
 *
 * In demo mode (GET /api/demo answers) the page asks the service for a demo
 * user's token instead: `?as=user|other|admin` in the URL, else the choice
 * made in the header earlier in this tab, else the page's default. A
 * `#token=` is still taken out of the address bar there.
 */
import { plainJson, statusOf } from './api.js';

declare global {
  interface Window {
    SORTIE_TOKEN?: string;
  }
}

export type DemoAs = 'user' | 'other' | 'admin' | 'auditor';

export interface DemoUser {
  as: DemoAs;
  sub: string;
  name: string;
  role: string;
}

export interface Session {
  token: string;
  /** Display only: the server decides what the token may do. */
  name: string;
  sub: string;
  isAdmin: boolean;
  /** Display only, like isAdmin: the admin panel shows an auditor its read-only view. */
  isAuditor: boolean;
  /** Set in demo mode: the people one may act as, and who one is now. */
  demo: { users: DemoUser[]; as: DemoAs } | null;
  /** A fresh token (demo mode mints a new one once this one is near expiry). */
  getToken(): Promise<string>;
}

const TOKEN_KEY = 'sortie.token';
const DEMO_AS_KEY = 'sortie.demoAs';

/** Claims of a JWT, read without verifying: for labels only. */
export function readClaims(token: string): Record<string, unknown> {
  try {
    const payload = token.split('.')[1] ?? '';
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    return JSON.parse(decodeURIComponent(escape(json))) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** The role as the server reads it (apps/server/src/auth/identity.ts): `role` or a `roles` list. */
function hasRoleClaim(c: Record<string, unknown>, role: string): boolean {
  return c.role === role || (Array.isArray(c.roles) && c.roles.includes(role));
}

function isAdminClaims(c: Record<string, unknown>): boolean {
  return hasRoleClaim(c, 'admin');
}

/**
 * Moves a `#token=` from the URL to sessionStorage and out of the address bar
 * (so it is not bookmarked or shared by accident). Runs in every mode: a
 * token in the address bar is a leak whether or not the page uses it.
 */
function takeHashToken(): string | null {
  const hash = new URLSearchParams(location.hash.replace(/^#/, ''));
  const fromHash = hash.get('token');
  if (!fromHash) return null;
  sessionStorage.setItem(TOKEN_KEY, fromHash);
  hash.delete('token');
  const rest = hash.toString();
  history.replaceState(null, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
  return fromHash;
}

/** The host's current token: read on every call, since the host may refresh it. */
function currentHostToken(): string | null {
  if (typeof window.SORTIE_TOKEN === 'string' && window.SORTIE_TOKEN) return window.SORTIE_TOKEN;
  return sessionStorage.getItem(TOKEN_KEY);
}

async function demoUsers(): Promise<DemoUser[] | null> {
  try {
    const info = await plainJson<{ demo: boolean; users: DemoUser[] }>('GET', '/api/demo');
    return info.demo ? info.users : null;
  } catch (err) {
    if (statusOf(err) === 404) return null;
    throw err;
  }
}

function chosenDemoAs(fallback: DemoAs, users: DemoUser[]): DemoAs {
  const valid = (v: string | null): v is DemoAs => users.some((u) => u.as === v);
  const fromUrl = new URLSearchParams(location.search).get('as');
  if (valid(fromUrl)) {
    sessionStorage.setItem(DEMO_AS_KEY, fromUrl);
    return fromUrl;
  }
  const stored = sessionStorage.getItem(DEMO_AS_KEY);
  return valid(stored) ? stored : fallback;
}

/** Switches the demo identity for this tab (the caller reloads the page). */
export function chooseDemoUser(as: DemoAs): void {
  sessionStorage.setItem(DEMO_AS_KEY, as);
  const url = new URL(location.href);
  url.searchParams.delete('as');
  history.replaceState(null, '', url);
}

/** Thrown when there is no way to get a token: the page explains what to do. */
export class NoTokenError extends Error {}

export async function signIn(defaultDemoAs: DemoAs): Promise<Session> {
  const fromHash = takeHashToken();
  const users = await demoUsers();
  if (users) {
    const as = chosenDemoAs(defaultDemoAs, users);
    const mint = async () => (await plainJson<{ token: string }>('POST', '/api/demo/token', { as })).token;
    let token = await mint();
    const claims = readClaims(token);
    return {
      token,
      name: String(claims.name ?? claims.sub ?? as),
      sub: String(claims.sub ?? ''),
      isAdmin: isAdminClaims(claims),
      isAuditor: hasRoleClaim(claims, 'auditor'),
      demo: { users, as },
      async getToken() {
        const exp = Number(readClaims(token).exp ?? 0);
        // A minute of margin, so a request never leaves with a token about to lapse.
        if (exp && exp * 1000 - Date.now() < 60_000) token = await mint();
        return token;
      },
    };
  }
  const token = fromHash ?? currentHostToken();
  if (!token) throw new NoTokenError('No sign-in token was given to this page.');
  const claims = readClaims(token);
  return {
    token,
    name: String(claims.name ?? claims.sub ?? 'Signed in'),
    sub: String(claims.sub ?? ''),
    isAdmin: isAdminClaims(claims),
    isAuditor: hasRoleClaim(claims, 'auditor'),
    demo: null,
    // Read afresh each time: after a 401 the SDK asks again and must get the host's refreshed token, not the one from page load.
    getToken: async () => currentHostToken() ?? token,
  };
}
