import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeSize, readElement, readWebmDuration, setWebmDuration } from './duration.js';

/** Two seconds recorded by Chromium's MediaRecorder (packages/recorder/test/fixtures/record-fixture.ts). */
const fixture = new Uint8Array(
  readFileSync(new URL('../../recorder/test/fixtures/chromium-vp9.webm', import.meta.url)),
);

function ffprobeDuration(bytes: Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), 'webm-duration-'));
  const file = join(dir, 'x.webm');
  writeFileSync(file, bytes);
  return execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file])
    .toString()
    .trim();
}

const el = (id: number[], data: number[]) => [...id, 0x80 | data.length, ...data];

/** EBML header, Segment of unknown size, then `children`. */
function synthetic(children: number[]): Uint8Array {
  const ebml = el(
    [0x1a, 0x45, 0xdf, 0xa3],
    el(
      [0x42, 0x82],
      [...'webm'].map((c) => c.charCodeAt(0)),
    ),
  );
  return Uint8Array.from([
    ...ebml,
    0x18,
    0x53,
    0x80,
    0x67,
    0x01,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    ...children,
  ]);
}
const INFO = el([0x15, 0x49, 0xa9, 0x66], el([0x2a, 0xd7, 0xb1], [0x0f, 0x42, 0x40]));
const CLUSTER = el([0x1f, 0x43, 0xb6, 0x75], el([0xe7], [0x00]));

describe('webm-duration on real Chromium output', () => {
  it('finds no Duration in what MediaRecorder wrote, and ffprobe cannot tell the length', () => {
    expect(readWebmDuration(fixture)).toBeNull();
    expect(ffprobeDuration(fixture)).toBe('N/A');
  });

  it('adds the Duration to Info: 11 bytes longer, everything after Info unchanged, ffprobe reads it', () => {
    const out = setWebmDuration(fixture, 2012.5)!;
    expect(out).not.toBeNull();
    expect(out.length).toBe(fixture.length + 11);
    expect(readWebmDuration(out)).toBeCloseTo(2012.5, 6);
    // The tail (Tracks, Clusters) is byte-identical, shifted by 11.
    expect(
      Buffer.from(out.subarray(out.length - 10_000)).equals(Buffer.from(fixture.subarray(fixture.length - 10_000))),
    ).toBe(true);
    expect(Number(ffprobeDuration(out))).toBeCloseTo(2.0125, 3);
  });

  it('gives the same bytes when only the head is patched and the rest appended (how part 1 is rewritten)', () => {
    const headLen = 4096;
    const head = setWebmDuration(fixture.subarray(0, headLen), 1500)!;
    const joined = Buffer.concat([head, fixture.subarray(headLen)]);
    expect(joined.equals(Buffer.from(setWebmDuration(fixture, 1500)!))).toBe(true);
  });

  it('overwrites an existing Duration in place', () => {
    const once = setWebmDuration(fixture, 1000)!;
    const twice = setWebmDuration(once, 3000)!;
    expect(twice.length).toBe(once.length);
    expect(readWebmDuration(twice)).toBeCloseTo(3000, 6);
  });

  it('returns null for bytes that end inside Info or are not WebM', () => {
    expect(setWebmDuration(fixture.subarray(0, 40), 1000)).toBeNull();
    expect(setWebmDuration(new TextEncoder().encode('not a webm file at all'), 1000)).toBeNull();
    expect(setWebmDuration(fixture, Number.NaN)).toBeNull();
  });
});

describe('webm-duration on crafted files', () => {
  it('takes the room from a Void after Info, so the length and every later offset stay', () => {
    const withVoid = synthetic([...INFO, ...el([0xec], new Array(20).fill(0)), ...CLUSTER]);
    const out = setWebmDuration(withVoid, 4000)!;
    expect(out.length).toBe(withVoid.length);
    expect(readWebmDuration(out)).toBeCloseTo(4000, 6);
    expect(Buffer.from(out.subarray(out.length - CLUSTER.length)).equals(Buffer.from(CLUSTER))).toBe(true);
  });

  it('moves SeekHead positions of elements after Info', () => {
    // SeekHead → Seek(SeekID=Cluster, SeekPosition=p) where p is the Cluster's offset in the Segment.
    const seek = (pos: number) =>
      el(
        [0x11, 0x4d, 0x9b, 0x74],
        el([0x4d, 0xbb], [...el([0x53, 0xab], [0x1f, 0x43, 0xb6, 0x75]), ...el([0x53, 0xac], [0x00, pos])]),
      );
    const seekLen = seek(0).length;
    const clusterPos = seekLen + INFO.length;
    const file = synthetic([...seek(clusterPos), ...INFO, ...CLUSTER]);
    const out = setWebmDuration(file, 500)!;
    expect(out.length).toBe(file.length + 11);
    const segStart = file.length - (seekLen + INFO.length + CLUSTER.length);
    // Read the SeekPosition back: last byte of the SeekHead.
    expect(out[segStart + seekLen - 1]).toBe(clusterPos + 11);
    const cluster = readElement(out, segStart + clusterPos + 11)!;
    expect(cluster.id).toBe(0x1f43b675);
  });

  it('encodes EBML sizes in the width asked for, refusing values that do not fit', () => {
    expect([...encodeSize(5, 1)!]).toEqual([0x85]);
    expect([...encodeSize(300, 2)!]).toEqual([0x41, 0x2c]);
    expect(encodeSize(127, 1)).toBeNull(); // all ones means "unknown"
    expect(
      readElement(Uint8Array.from([0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 0)!.size,
    ).toBeNull();
  });
});

describe('webm-duration with an odd existing Duration', () => {
  const infoWith = (duration: number[]) =>
    el([0x15, 0x49, 0xa9, 0x66], [...el([0x2a, 0xd7, 0xb1], [0x0f, 0x42, 0x40]), ...el([0x44, 0x89], duration)]);

  it('reads no duration (and does not throw) from a 0-byte or 2-byte Duration', () => {
    expect(readWebmDuration(synthetic([...infoWith([]), ...CLUSTER]))).toBeNull();
    expect(readWebmDuration(synthetic([...infoWith([0x40, 0x00]), ...CLUSTER]))).toBeNull();
  });

  it('leaves a file with a Duration of another size untouched instead of adding a second one', () => {
    expect(setWebmDuration(synthetic([...infoWith([]), ...CLUSTER]), 1000)).toBeNull();
    expect(setWebmDuration(synthetic([...infoWith([0x40, 0x00]), ...CLUSTER]), 1000)).toBeNull();
  });

  it("reads Firefox's Duration of 0 (written while it records) as none, and overwrites it in place", () => {
    const file = synthetic([...infoWith([0, 0, 0, 0, 0, 0, 0, 0]), ...CLUSTER]);
    expect(readWebmDuration(file)).toBeNull();
    const out = setWebmDuration(file, 2500)!;
    expect(out.length).toBe(file.length);
    expect(readWebmDuration(out)).toBe(2500);
  });

  it('still overwrites a 4-byte Duration in place', () => {
    const file = synthetic([...infoWith([0, 0, 0, 0]), ...CLUSTER]);
    const out = setWebmDuration(file, 1500)!;
    expect(out.length).toBe(file.length);
    expect(readWebmDuration(out)).toBe(1500);
  });
});
