/**
 * Bundled into the thumbnails test's page: three sources of one solid colour
 * each — a canvas, a MediaStream (captured from a canvas that is not the one
 * recorded), an element holding a canvas (recorded through the compositor) —
 * and a helper that records one of them with recordThumbnails.
 */
import * as Sortie from '../../src/index.js';
import { recordThumbnails } from '../../src/thumbnails.js';

export type SourceKind = 'canvas' | 'stream' | 'element';

/** A canvas filled with `rgb`, redrawn so a captured stream keeps delivering frames. */
function solid(rgb: readonly number[], parent: HTMLElement = document.body): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = 320;
  c.height = 180;
  parent.appendChild(c);
  const ctx = c.getContext('2d')!;
  const draw = () => {
    ctx.fillStyle = `rgb(${rgb.join(',')})`;
    ctx.fillRect(0, 0, c.width, c.height);
  };
  draw();
  setInterval(draw, 50);
  return c;
}

function source(kind: SourceKind, rgb: readonly number[]): HTMLCanvasElement | MediaStream | HTMLElement {
  if (kind === 'canvas') return solid(rgb);
  if (kind === 'stream') return solid(rgb).captureStream(15);
  const stage = document.createElement('div');
  stage.style.cssText = 'position:relative;width:320px;height:180px';
  document.body.appendChild(stage);
  solid(rgb, stage);
  return stage;
}

/** Records `kind` for `ms` with a thumbnail every `intervalMs`; the recording's id. */
async function recordWithThumbnails(
  kind: SourceKind,
  rgb: number[],
  ms: number,
  intervalMs: number,
): Promise<{ id: string; sessionId: string }> {
  const getToken = (window as unknown as { testToken(): Promise<string> }).testToken;
  const sessionId = `thumbs-${kind}`;
  const recorder = Sortie.createRecorder({ source: source(kind, rgb), sessionId, getToken });
  const stop = recordThumbnails(recorder, { intervalMs });
  await recorder.start();
  await new Promise((r) => setTimeout(r, ms));
  const rec = await recorder.stop();
  stop();
  return { id: rec.id, sessionId };
}

Object.assign(window, { recordWithThumbnails });
