/**
 * Model I/O: Hugging Face GPT-2 and GPT-NeoX (Pythia) checkpoints → TransformerLens-layout
 * {@linkcode Model}s. Safetensors (lazy, sharded, strictly validated), PyTorch
 * `pytorch_model.bin` through a restricted unpickler, `config.json`, a huggingface_hub-compatible
 * Hub client and cache, tokenizers, and a generator of random models in the exact HF formats.
 * Importing this module needs no permissions; each function documents what it needs.
 * @module
 */
export type * from "./types.ts";
export { parseConfig, readConfig, SUPPORTED_ARCHITECTURES } from "./config.ts";
export {
  decodeTensor,
  encodeSafetensors,
  encodeSafetensorsHeader,
  encodeTensorData,
  parseSafetensorsHeader,
  readSafetensors,
  SAFETENSORS_DTYPE_SIZES,
} from "./safetensors.ts";
export type {
  DecodeOptions,
  SafetensorsDtype,
  SafetensorsEntry,
  SafetensorsHeader,
  SafetensorsInput,
  SafetensorsTensor,
  TensorSpec,
} from "./safetensors.ts";
export {
  openSafetensors,
  SafetensorsFile,
  ShardedSafetensors,
  type TensorSource,
  writeSafetensorsFile,
} from "./safetensors_file.ts";
export { readTorchBin, type TorchTensor } from "./torch_bin.ts";
export { encodeTorchBin } from "./torch_bin_write.ts";
export {
  convertGpt2Weights,
  convertHfWeights,
  convertNeoxWeights,
  type StateDict,
  stateDictFromMap,
  type StateTensor,
} from "./hf_weights.ts";
export {
  type LoadedModel,
  loadModel,
  loadModelFromDir,
  type LoadOptions,
  TOKENIZER_FILES,
  type TokenizerFiles,
  WEIGHT_FILES,
} from "./load.ts";
export {
  DEFAULT_ENDPOINT,
  hfHubDownload,
  type HubFile,
  HubFileNotFoundError,
  type HubOptions,
  snapshotDownload,
  type SnapshotPatterns,
} from "./hub.ts";
export { HUB_ENV_VARS, hubCacheDir, RepoCache, repoFolderName } from "./hf_cache.ts";
export { type GeneratedModel, generateModel, type GenerateOptions } from "./generate.ts";
export {
  loadTokenizer,
  type Tokenizer,
  tokenizerFromJson,
  tokenizerFromVocabMerges,
  type VocabMergesOptions,
} from "./tokenizer.ts";
