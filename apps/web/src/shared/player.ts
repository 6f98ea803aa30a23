/**
 * The recordings player: a <video> with its own controls, for the
 * admin panel and "My recordings".
 *
 * - Speed 0.5× to 16×; keyboard: Space/K play-pause, ←/→ 5 s, J/L 10 s,
 *   Home/End, F full screen, < and > speed (listed in KEYS, shown on the page).
 * - A timeline bar: played and buffered, the recording's markers (buttons that
 *   seek), and on hover the thumbnail nearest before that moment.
 * - Plays from the first bytes: the <video> reads the file over HTTP Range
 *   (preload "auto", no download first), and seeking asks for the range it needs.
 * - The position is reported (onPosition) for the page's `#t=` link.
 *
 * Everything is a labelled button, a select or a slider, reachable with Tab.
 */
import './player.css';
import { h } from './dom.js';
import { formatDuration } from './format.js';

export const SPEEDS = [0.5, 1, 1.5, 2, 4, 8, 16] as const;
/** ←/→ step, and J/L's (YouTube's convention). */
const STEP_S = 5;
const BIG_STEP_S = 10;

export const KEYS: [string, string][] = [
  ['Space, K', 'play / pause'],
  ['← / →', `back / forward ${STEP_S} s`],
  ['J / L', `back / forward ${BIG_STEP_S} s`],
  ['Home / End', 'start / end'],
  ['< / >', 'slower / faster'],
  ['F', 'full screen'],
];

/** A marker as GET /api/recordings/:id/markers answers it (the contract's Marker). */
export interface Marker {
  offsetMs: number;
  label: string;
  source: 'app' | 'sdk';
}

export interface Thumbnail {
  offsetMs: number;
  url: string;
}

export interface PlayerOptions {
  /** A URL the <video> can load without a header (a download URL). */
  src: string;
  /** The recording's own duration, used until (or when) the file does not say. */
  durationMs: number | null;
  /** Seconds to start at (the link's `#t=`). */
  startAt?: number;
  markers?: Promise<Marker[]>;
  thumbnails?: Promise<Thumbnail[]>;
  /** Called (at most 4 times a second, and after every seek) with the position in seconds. */
  onPosition?(seconds: number): void;
}

export interface Player {
  element: HTMLElement;
  video: HTMLVideoElement;
  destroy(): void;
}

const clock = (s: number) => formatDuration(Math.max(0, s) * 1000);

export function createPlayer(opts: PlayerOptions): Player {
  const video = h('video', { class: 'player-video', preload: 'auto', playsinline: true });
  video.muted = true; // Recordings of a canvas carry no audio; muted also lets autoplay start.
  // From a link's moment: seek first, then play, so that nothing before it is shown (or counted as played).
  const startAt = opts.startAt && opts.startAt > 0 ? opts.startAt : 0;
  video.autoplay = !startAt;
  const fallbackDuration = (opts.durationMs ?? 0) / 1000;
  // A MediaRecorder file without a Duration reports Infinity until read to the end: use the recording's.
  const duration = () => (Number.isFinite(video.duration) && video.duration > 0 ? video.duration : fallbackDuration);

  const playButton = h('button', { class: 'player-btn', type: 'button', 'aria-label': 'Play', 'data-action': 'play' });
  const timeLabel = h('span', { class: 'player-time', 'aria-live': 'off' }, '0:00 / —');
  const speed = h(
    'select',
    { class: 'player-speed', 'aria-label': 'Playback speed', 'data-action': 'speed' },
    ...SPEEDS.map((s) => h('option', { value: String(s), selected: s === 1 }, `${s}×`)),
  );
  const fullButton = h('button', { class: 'player-btn', type: 'button', 'data-action': 'fullscreen' }, 'Full screen');
  const played = h('div', { class: 'player-played' });
  const buffered = h('div', { class: 'player-buffered' });
  const previewImg = h('img', { class: 'player-preview-img', alt: '', width: 160, height: 90 });
  const previewTime = h('span', { class: 'player-preview-time' });
  const preview = h('div', { class: 'player-preview', hidden: true, 'aria-hidden': 'true' }, previewImg, previewTime);
  const markerLayer = h('div', { class: 'player-markers' });
  const track = h('div', { class: 'player-track' }, buffered, played);
  const timeline = h(
    'div',
    {
      class: 'player-timeline',
      role: 'slider',
      tabindex: 0,
      'aria-label': 'Seek',
      'aria-valuemin': 0,
      'aria-valuemax': 0,
      'aria-valuenow': 0,
      'aria-valuetext': '0:00',
    },
    track,
    markerLayer,
    preview,
  );
  const markerList = h('ol', { class: 'player-marker-list', 'aria-label': 'Markers' });
  const keysHelp = h(
    'p',
    { class: 'player-keys muted small' },
    ...KEYS.flatMap(([k, what], i) => [i ? ' · ' : '', h('kbd', {}, k), ` ${what}`]),
  );
  const element = h(
    'div',
    {
      class: 'player',
      role: 'region',
      'aria-label': 'Recording player',
      tabindex: -1,
      'aria-keyshortcuts': 'Space K J L ArrowLeft ArrowRight Home End F',
    },
    h('div', { class: 'player-stage' }, video),
    timeline,
    h(
      'div',
      { class: 'player-controls' },
      playButton,
      h(
        'button',
        { class: 'player-btn', type: 'button', 'aria-label': `Back ${STEP_S} seconds`, 'data-action': 'back' },
        `−${STEP_S}s`,
      ),
      h(
        'button',
        { class: 'player-btn', type: 'button', 'aria-label': `Forward ${STEP_S} seconds`, 'data-action': 'forward' },
        `+${STEP_S}s`,
      ),
      timeLabel,
      h('span', { class: 'player-spacer' }),
      h('label', { class: 'player-speed-label' }, 'Speed ', speed),
      fullButton,
    ),
    markerList,
    keysHelp,
  );

  // Events of the emptied <video> still arrive after destroy(): they must not report a position.
  let destroyed = false;
  const report = (t: number) => {
    if (!destroyed) opts.onPosition?.(t);
  };
  const seek = (t: number) => {
    const d = duration();
    video.currentTime = Math.max(0, d > 0 ? Math.min(t, d) : t);
    render();
    report(video.currentTime);
  };
  const toggle = () => (video.paused || video.ended ? void video.play().catch(() => {}) : video.pause());
  const setSpeed = (s: number) => {
    video.playbackRate = s;
    speed.value = String(s);
  };
  const stepSpeed = (dir: 1 | -1) => {
    const i = SPEEDS.indexOf(video.playbackRate as (typeof SPEEDS)[number]);
    setSpeed(SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, (i < 0 ? 1 : i) + dir))]!);
  };
  const fullScreen = () => {
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => {});
    else void element.requestFullscreen().catch(() => {});
  };

  function render(): void {
    const d = duration();
    const t = video.currentTime;
    played.style.width = d ? `${Math.min(100, (t / d) * 100)}%` : '0';
    const end = video.buffered.length ? video.buffered.end(video.buffered.length - 1) : 0;
    buffered.style.width = d ? `${Math.min(100, (end / d) * 100)}%` : '0';
    timeLabel.textContent = `${clock(t)} / ${d ? clock(d) : '—'}`;
    timeline.setAttribute('aria-valuemax', String(Math.round(d)));
    timeline.setAttribute('aria-valuenow', String(Math.round(t)));
    timeline.setAttribute('aria-valuetext', `${clock(t)} of ${d ? clock(d) : 'unknown'}`);
    const paused = video.paused || video.ended;
    playButton.textContent = paused ? '▶' : '❚❚';
    playButton.setAttribute('aria-label', paused ? 'Play' : 'Pause');
  }

  // --- keyboard: anywhere in the player (the dialog gives it focus) ---
  element.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const target = e.target as HTMLElement;
    // The speed select keeps its arrows; a focused button keeps Space and Enter.
    if (target === speed && e.key !== 'f' && e.key !== 'F') return;
    if (target.tagName === 'BUTTON' && (e.key === ' ' || e.key === 'Enter')) return;
    const t = video.currentTime;
    const actions: Record<string, () => void> = {
      ' ': toggle,
      k: toggle,
      ArrowLeft: () => seek(t - STEP_S),
      ArrowRight: () => seek(t + STEP_S),
      j: () => seek(t - BIG_STEP_S),
      l: () => seek(t + BIG_STEP_S),
      Home: () => seek(0),
      End: () => seek(duration()),
      f: fullScreen,
      '<': () => stepSpeed(-1),
      '>': () => stepSpeed(1),
    };
    const act = actions[e.key.length === 1 ? e.key.toLowerCase() : e.key] ?? actions[e.key];
    if (!act) return;
    e.preventDefault();
    act();
  });

  playButton.addEventListener('click', toggle);
  fullButton.addEventListener('click', fullScreen);
  element.querySelector('[data-action="back"]')!.addEventListener('click', () => seek(video.currentTime - STEP_S));
  element.querySelector('[data-action="forward"]')!.addEventListener('click', () => seek(video.currentTime + STEP_S));
  speed.addEventListener('change', () => setSpeed(Number(speed.value)));

  // --- the timeline: click or drag to seek, hover for a thumbnail ---
  const timeAt = (clientX: number) => {
    const box = track.getBoundingClientRect();
    return (Math.max(0, Math.min(box.width, clientX - box.left)) / (box.width || 1)) * duration();
  };
  let thumbs: Thumbnail[] = [];
  timeline.addEventListener('pointerdown', (e) => {
    if ((e.target as HTMLElement).closest('.player-marker')) return;
    timeline.setPointerCapture(e.pointerId);
    seek(timeAt(e.clientX));
  });
  timeline.addEventListener('pointermove', (e) => {
    const t = timeAt(e.clientX);
    if (timeline.hasPointerCapture(e.pointerId)) seek(t);
    showPreview(t, e.clientX);
  });
  timeline.addEventListener('pointerleave', () => (preview.hidden = true));

  function showPreview(t: number, clientX: number): void {
    const box = timeline.getBoundingClientRect();
    // The thumbnail taken last before t: what the recording showed then. Before the first one (taken
    // once capture runs, a fraction of a second in), the first one: the nearest picture there is.
    let best: Thumbnail | undefined = thumbs[0];
    for (const th of thumbs) if (th.offsetMs <= t * 1000 + 1) best = th;
    previewTime.textContent = clock(t);
    preview.dataset.time = t.toFixed(3);
    if (best) {
      if (previewImg.dataset.offsetMs !== String(best.offsetMs)) previewImg.src = best.url;
      previewImg.dataset.offsetMs = String(best.offsetMs);
      previewImg.hidden = false;
    } else {
      previewImg.hidden = true;
      delete previewImg.dataset.offsetMs;
    }
    const half = 84;
    preview.style.left = `${Math.max(half, Math.min(box.width - half, clientX - box.left))}px`;
    preview.hidden = false;
  }

  // --- markers: on the bar and listed below it, each a button that seeks ---
  let markers: Marker[] = [];
  function drawMarkers(): void {
    const d = duration();
    markerLayer.replaceChildren();
    markerList.replaceChildren();
    for (const m of markers) {
      const at = m.offsetMs / 1000;
      const name = `${m.label} at ${clock(at)}`;
      const go = () => seek(at);
      const pin = h('button', {
        class: `player-marker player-marker-${m.source}`,
        type: 'button',
        title: name,
        'aria-label': `Marker: ${name}`,
        'data-offset-ms': m.offsetMs,
        'data-label': m.label,
        tabindex: -1, // The list below is the keyboard's way to the same markers.
      });
      pin.style.left = d ? `${Math.min(100, (at / d) * 100)}%` : '0';
      pin.addEventListener('click', go);
      markerLayer.append(pin);
      const item = h(
        'button',
        { class: 'player-marker-item', type: 'button', 'data-offset-ms': m.offsetMs },
        h('span', { class: 'player-marker-time' }, clock(at)),
        ` ${m.label}`,
      );
      item.addEventListener('click', go);
      markerList.append(h('li', { class: m.source === 'sdk' ? 'muted' : '' }, item));
    }
    markerList.hidden = markers.length === 0;
  }
  markerList.hidden = true;
  void opts.markers?.then(
    (list) => {
      markers = list;
      drawMarkers();
      element.dataset.markers = String(list.length);
    },
    () => (element.dataset.markers = 'error'),
  );
  void opts.thumbnails?.then(
    (list) => {
      thumbs = list;
      element.dataset.thumbnails = String(list.length);
    },
    () => (element.dataset.thumbnails = 'error'),
  );

  // --- the video's own events ---
  let lastReport = 0;
  video.addEventListener('timeupdate', () => {
    render();
    const now = performance.now();
    if (now - lastReport > 250) {
      lastReport = now;
      report(video.currentTime);
    }
  });
  for (const ev of ['play', 'pause', 'ended', 'progress', 'ratechange', 'seeked']) video.addEventListener(ev, render);
  video.addEventListener('durationchange', () => {
    render();
    drawMarkers();
  });
  video.addEventListener(
    'loadedmetadata',
    () => {
      if (startAt) {
        video.addEventListener('seeked', () => void video.play().catch(() => {}), { once: true });
        seek(startAt);
      }
      render();
      drawMarkers();
    },
    { once: true },
  );
  video.addEventListener('ratechange', () => (speed.value = String(video.playbackRate)));
  video.src = opts.src;
  render();

  return {
    element,
    video,
    destroy() {
      destroyed = true;
      video.pause();
      video.removeAttribute('src');
      video.load();
    },
  };
}
