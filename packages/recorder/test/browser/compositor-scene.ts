/** The compositor tests' scene, shared by the page (compositor-entry.ts) and the tests: no DOM here. */

/** Solid colours far apart, so each survives VP8/VP9 compression recognisably. */
export const COLOURS = {
  base: [0, 64, 255],
  overlay: [255, 0, 0],
  cursor: [0, 255, 0],
  hidden: [255, 255, 0],
  late: [0, 255, 255],
} as const;

export interface SceneOptions {
  width: number;
  height: number;
  /** Hotspot of the url() cursor. */
  hotspot: [number, number];
  /** The overlay canvas's box in the stage. */
  overlay: { x: number; y: number; w: number; h: number };
  /** Where a hidden (visibility:hidden) canvas of COLOURS.hidden lies, drawn above everything if it were shown. */
  hidden?: { x: number; y: number; w: number; h: number };
}
