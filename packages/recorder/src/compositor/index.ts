/**
 * @sortie/recorder/compositor — records an element's canvases and pointer as
 * one video. createRecorder({ source: element }) loads this module by itself
 * (a dynamic import, so pages that record a canvas or a stream never load
 * it); import it directly to use the compositor's stream or canvas without
 * the recorder.
 */
export {
  createCompositor,
  type Compositor,
  type CompositorOptions,
  type PointerInput,
  type TickSource,
} from './compositor.js';
export { collectLayers, type Layer } from './layers.js';
