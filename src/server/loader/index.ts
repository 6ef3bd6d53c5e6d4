// The model loader's public surface.
export { loadModel, type LoadedModel, type LoadModelOptions, type LoadProgress } from './load-model';
export { resolveModel, type ResolvedModel } from './resolve-model';
export { hfHubDir, listCachedModels, type CachedModel } from '../../shared/hf-cache';
export { readModelConfig, parseQuantization, type ModelConfigFiles, type Quantization, type QuantParams } from './config';
export { readSafetensorsHeader, type SafetensorsHeader, type TensorInfo } from './safetensors';
