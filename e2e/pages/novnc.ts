/**
 * A real noVNC client (npm @novnc/novnc, as a Sortie frontend embeds it):
 * `new RFB(target, url)`, then the SDK records `target` — the canvas noVNC
 * draws into, plus the remote cursor that noVNC shows only as the canvas's
 * CSS cursor.
 */
import RFB from '@novnc/novnc';
import { exposeViewer, params } from './viewer.ts';

const target = document.getElementById('screen')!;
const rfb = new RFB(target, params().get('ws'), { shared: true });
// 1:1 with the remote screen by default; `?scale=1` scales the remote screen to fit the target, as an
// embedding page does when the remote resolution may change. The remote session is never resized from here.
rfb.scaleViewport = new URLSearchParams(location.search).get('scale') === '1';
rfb.resizeSession = false;

const ready = new Promise<void>((resolve, reject) => {
  rfb.addEventListener('connect', () => resolve());
  rfb.addEventListener('disconnect', () => reject(new Error('noVNC disconnected')));
  rfb.addEventListener('securityfailure', () => reject(new Error('noVNC security failure')));
});
exposeViewer(target, ready);
