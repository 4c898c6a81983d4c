/**
 * Tasks: the IOI prompt generator (CPython-exact `random`) and its token positions.
 * @module
 */
export { PythonRandom } from "./python_random.ts";
export {
  ABBA_TEMPLATES,
  abbaFromBaba,
  BABA_TEMPLATES,
  generateIoiPrompts,
  IOI_NAMES,
  IOI_OBJECTS,
  IOI_PLACES,
  type IoiOptions,
  type IoiPrompt,
} from "./ioi.ts";
export {
  filterByTopPrediction,
  type IoiPositions,
  ioiPositions,
  type TextEncoderLike,
} from "./ioi_positions.ts";
