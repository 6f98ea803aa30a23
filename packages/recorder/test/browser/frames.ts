/**
 * Reading recordings back with ffmpeg: decoded frames as RGB pixels, decode
 * errors, packet times. For the compositor tests, which assert what the
 * pixels of a recording show.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs `fn` with the bytes written to a temporary .webm file (kept as KEEP_RECORDINGS/<name>.webm when that is set). */
export function withFile<T>(bytes: Uint8Array, fn: (file: string) => T, name = 'recording'): T {
  const dir = mkdtempSync(join(tmpdir(), 'sortie-frames-'));
  const file = join(dir, 'recording.webm');
  try {
    writeFileSync(file, bytes);
    if (process.env.KEEP_RECORDINGS) copyFileSync(file, join(process.env.KEEP_RECORDINGS, `${name}.webm`));
    return fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Frame {
  width: number;
  height: number;
  /** rgb24, row by row. */
  data: Buffer;
  /** [r, g, b] at (x, y). */
  at(x: number, y: number): [number, number, number];
}

/** The video's size, from ffprobe. */
export function videoSize(file: string): { width: number; height: number } {
  const [w, h] = execFileSync('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=width,height',
    '-of',
    'csv=p=0',
    file,
  ])
    .toString()
    .trim()
    .split(',')
    .map(Number);
  return { width: w!, height: h! };
}

/** The frame shown at `seconds` (decoded from the start, so exact whatever the keyframes). */
export function frameAt(file: string, seconds: number): Frame {
  const { width, height } = videoSize(file);
  const data = execFileSync(
    'ffmpeg',
    [
      '-v',
      'error',
      '-i',
      file,
      '-ss',
      seconds.toFixed(3),
      '-frames:v',
      '1',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  if (data.length !== width * height * 3)
    throw new Error(`ffmpeg gave ${data.length} bytes for ${width}×${height} at ${seconds} s`);
  return {
    width,
    height,
    data,
    at(x, y) {
      const i = (Math.round(y) * width + Math.round(x)) * 3;
      return [data[i]!, data[i + 1]!, data[i + 2]!];
    },
  };
}

/**
 * What `ffmpeg -v error` prints while decoding the whole file ('' when it
 * plays to the end cleanly). The frames keep the file's own times
 * (`-fps_mode passthrough -enc_time_base -1`): without that, the null muxer
 * re-stamps them on the grid of the frame rate ffmpeg guesses (15 fps), and
 * two wall-clock frames that jitter into one 1/15 s slot make it complain of
 * "non monotonically increasing dts" — about its grid, not the file.
 */
export function decodeErrors(file: string): string {
  const r = spawnSync(
    'ffmpeg',
    ['-v', 'error', '-i', file, '-fps_mode', 'passthrough', '-enc_time_base', '-1', '-f', 'null', '-'],
    { encoding: 'utf8' },
  );
  return `${r.stderr}${r.status === 0 ? '' : `exit ${r.status}`}`.trim();
}

/** Presentation time of every video packet, sorted (seconds). */
export function packetTimes(file: string): number[] {
  return execFileSync('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'packet=pts_time',
    '-of',
    'csv=p=0',
    file,
  ])
    .toString()
    .split('\n')
    .map((l) => l.replace(/,.*$/, '').trim())
    .filter((l) => l !== '' && l !== 'N/A')
    .map(Number)
    .sort((a, b) => a - b);
}

/** True when each channel is within `tol` of the wanted colour (VP8/VP9 shift solid colours by a few levels). */
export function near(got: [number, number, number], want: [number, number, number], tol = 40): boolean {
  return got.every((v, i) => Math.abs(v - want[i]!) <= tol);
}
