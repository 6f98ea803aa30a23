/**
 * The player's place in the page's address: `#…play=<recording id>&t=<seconds>`,
 * so a link opens that recording at that moment. Other hash entries (the admin
 * tab's name) are kept as they are.
 */
const params = () => new URLSearchParams(location.hash.replace(/^#/, ''));

// URLSearchParams writes a bare key as "key=": the tab name stays bare ("#recordings&play=…").
const hashOf = (p: URLSearchParams) => p.toString().replace(/=(&|$)/g, '$1');

function write(p: URLSearchParams): void {
  const hash = hashOf(p);
  history.replaceState(history.state, '', `${location.pathname}${location.search}${hash ? `#${hash}` : ''}`);
}

export function readPlayerLink(): { id: string; t: number } | null {
  const p = params();
  const id = p.get('play');
  if (!id || !/^[0-9a-f-]{36}$/i.test(id)) return null;
  const t = Number(p.get('t') ?? 0);
  return { id, t: Number.isFinite(t) && t > 0 ? t : 0 };
}

export function writePlayerLink(id: string, seconds: number): void {
  const p = params();
  p.set('play', id);
  p.set('t', String(Math.round(seconds * 10) / 10));
  write(p);
}

export function clearPlayerLink(): void {
  const p = params();
  p.delete('play');
  p.delete('t');
  write(p);
}

/**
 * The page's own address opening a recording (at a moment when `seconds` is given): what "Copy link" hands out.
 * A page link, not a file URL: it never expires, and whoever opens it signs in and is checked by the service.
 */
export function playerLinkUrl(id: string, seconds?: number): string {
  const p = params();
  p.delete('token');
  p.set('play', id);
  if (seconds === undefined) p.delete('t');
  else p.set('t', String(Math.floor(seconds * 10) / 10));
  return `${location.origin}${location.pathname}${location.search}#${hashOf(p)}`;
}
