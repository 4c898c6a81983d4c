/**
 * svlens: singular vectors of attention heads and the features they align with.
 *
 * The library API, one module per layer (see README and design notes). Importing it needs no
 * Deno permissions.
 *
 * @module
 */
export * from "./src/errors.ts";
export { SCHEMA_VERSION, VERSION } from "./src/version.ts";
export * from "./src/report/mod.ts";
export * from "./src/linalg/mod.ts";
export * from "./src/circuits/mod.ts";
export * from "./src/model/mod.ts";
export {
  type Backend,
  gpt2Config,
  type HookFilter,
  hookNames,
  type LogitPositions,
  neoxConfig,
  randomModel,
  referenceForward,
  type RunOptions,
  runWithCache,
  selectHooks,
} from "./src/runtime/mod.ts";
export {
  analyzeAlignment,
  type ExperimentResult as ToyExperimentResult,
  makeConfig as makeToyConfig,
  type PointResult as ToyPointResult,
  preset as toyPreset,
  PRESETS as TOY_PRESETS,
  runExperiment as runToyExperiment,
  runPoint as runToyPoint,
  theoryPredictions,
  type ToyConfig,
  type ToySad,
  toySad,
  train as trainToy,
} from "./src/toy/mod.ts";
export * from "./src/tasks/mod.ts";
export * from "./src/sad/mod.ts";
