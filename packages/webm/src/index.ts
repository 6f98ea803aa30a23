/**
 * @sortie/webm: the one EBML reader/writer, shared by the SDK (bundled into
 * it, in the browser) and the service (Node). Works on Uint8Array only.
 */
export {
  readElement,
  encodeSize,
  isPlaceholderDuration,
  readWebmDuration,
  setWebmDuration,
  type EbmlElement,
} from './duration.js';
export { WebmTimeline } from './timeline.js';
export { WebmScanner, type WebmScanResult } from './scanner.js';
