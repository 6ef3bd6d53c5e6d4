// The model loader's public surface.
export { loadModel, weightHolding, type LoadedModel, type LoadModelOptions, type LoadProgress } from './load-model';
export { estimateWeights, kvBytesPerToken, planMemory, describePlan, describeContextCap, MIN_SERVED_CONTEXT, MEMORY_HEADROOM, KV_MEMORY_SHARE, type MemoryPlan, type WeightEstimate, type WeightHolding } from './memory-fit';
export { resolveModel, type ResolvedModel } from './resolve-model';
export { hfHubDir, listCachedModels, type CachedModel } from '../../shared/hf-cache';
export { readModelConfig, checkModelConfig, parseQuantization, type ModelConfigFiles, type Quantization, type QuantParams } from './config';
export { readSafetensorsHeader, type SafetensorsHeader, type TensorInfo } from './safetensors';
