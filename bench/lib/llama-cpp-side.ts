// llama.cpp through node-llama-cpp 3.x, installed outside package.json by
// bench/setup-llama-cpp.sh into bench/.deps. Only the few calls the benchmark makes are typed here.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

type ControlledInput = number | [number, { generateNext?: { token?: boolean; options?: { temperature?: number } } }];

interface LlamaContextSequence {
  controlledEvaluate(input: ControlledInput[]): Promise<Array<undefined | { next: { token?: number | null } }>>;
  clearHistory(): Promise<void>;
}

interface LlamaContext {
  getSequence(): LlamaContextSequence;
  dispose(): Promise<void>;
}

interface LlamaModel {
  createContext(options: { sequences: number; contextSize: number; threads: number; batchSize?: number }): Promise<LlamaContext>;
  dispose(): Promise<void>;
}

interface Llama {
  loadModel(options: { modelPath: string; gpuLayers: number }): Promise<LlamaModel>;
  dispose(): Promise<void>;
}

interface NodeLlamaCpp {
  getLlama(options: Record<string, unknown>): Promise<Llama>;
}

export const LLAMA_CPP_DEPS = path.join(process.cwd(), 'bench', '.deps');

async function importNodeLlamaCpp(): Promise<{ module: NodeLlamaCpp; version: string }> {
  const dir = path.join(LLAMA_CPP_DEPS, 'node_modules', 'node-llama-cpp');
  if (!fs.existsSync(path.join(dir, 'package.json'))) {
    throw new Error(`node-llama-cpp is not installed in ${LLAMA_CPP_DEPS}: run \`bash bench/setup-llama-cpp.sh\` first`);
  }
  const version = (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  // An ES module: loaded with import(), which TypeScript keeps as is in node16 CommonJS output.
  const module = (await import(pathToFileURL(path.join(dir, 'dist', 'index.js')).href)) as NodeLlamaCpp;
  return { module, version };
}

/** B sequences of one llama.cpp context, fed in lockstep so each step is one batch. */
export class LlamaCppBatch {
  private constructor(private readonly context: LlamaContext, private readonly seqs: LlamaContextSequence[]) {}

  static async create(model: LlamaModel, batch: number, contextSize: number, threads: number, promptTokens: number): Promise<LlamaCppBatch> {
    const context = await model.createContext({ sequences: batch, contextSize, threads, batchSize: Math.max(512, batch * promptTokens) });
    const seqs = Array.from({ length: batch }, () => context.getSequence());
    return new LlamaCppBatch(context, seqs);
  }

  /**
   * Greedy generation of `maxTokens` per sequence. The prompts are prefilled together; then each
   * step evaluates every sequence's last token, in increasing sequence order in one tick, so
   * node-llama-cpp dispatches them as one batch. Returns the tokens and the decode time (from
   * when every sequence has its first token to the end).
   */
  async generate(prompts: readonly (readonly number[])[], maxTokens: number): Promise<{ tokens: number[][]; decodeMs: number; decodeTokens: number }> {
    if (prompts.length !== this.seqs.length) throw new Error(`${prompts.length} prompts for ${this.seqs.length} sequences`);
    await Promise.all(this.seqs.map((s) => s.clearHistory()));
    const next = (t: number): ControlledInput => [t, { generateNext: { token: true, options: { temperature: 0 } } }];
    const tokenOf = (out: Array<undefined | { next: { token?: number | null } }>, i: number): number => {
      const t = out[out.length - 1]?.next.token;
      if (t === undefined || t === null) throw new Error(`llama.cpp returned no token for sequence ${i}`);
      return t;
    };
    const firsts = await Promise.all(this.seqs.map((s, i) => s.controlledEvaluate([...prompts[i].slice(0, -1), next(prompts[i][prompts[i].length - 1])])));
    const tokens = firsts.map((out, i) => [tokenOf(out, i)]);
    const t0 = performance.now();
    for (let step = 1; step < maxTokens; step++) {
      const outs = await Promise.all(this.seqs.map((s, i) => s.controlledEvaluate([next(tokens[i][tokens[i].length - 1])])));
      outs.forEach((out, i) => tokens[i].push(tokenOf(out, i)));
    }
    return { tokens, decodeMs: performance.now() - t0, decodeTokens: this.seqs.length * (maxTokens - 1) };
  }

  dispose(): Promise<void> {
    return this.context.dispose();
  }
}

export interface LlamaCppSide {
  version: string;
  model: LlamaModel;
  dispose(): Promise<void>;
}

/** Loads a GGUF file into llama.cpp on the CPU. */
export async function openLlamaCpp(ggufFile: string, threads: number): Promise<LlamaCppSide> {
  const { module, version } = await importNodeLlamaCpp();
  const llama = await module.getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, progressLogs: false, logLevel: 'error', maxThreads: threads });
  const model = await llama.loadModel({ modelPath: ggufFile, gpuLayers: 0 });
  return {
    version,
    model,
    dispose: async () => {
      await model.dispose();
      await llama.dispose();
    },
  };
}
