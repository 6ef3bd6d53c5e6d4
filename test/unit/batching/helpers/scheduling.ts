// Small builders for scheduler tests: a fake clock, a fake decoder, requests, and a driver
// that runs schedule -> engine -> update synchronously.
import { Request } from '../../../../src/batching/request';
import { toMlxBatchError } from '../../../../src/shared/errors';
import type { GenerateParams, IncrementalDecoder } from '../../../../src/batching/request-types';
import { ENGINE_FAILED, Scheduler, type RequestUpdate, type SchedulerOptions } from '../../../../src/batching/scheduler';
import { FakeEngine, type FakeEngineOptions } from './fake-engine';

export class FakeClock {
  t = 0;
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** Decodes token t to pieces[t] (or `<t>`); a piece ending in '\u0000' is held until the next token, like a split UTF-8 character. */
export class FakeDecoder implements IncrementalDecoder {
  private held = '';
  constructor(private readonly pieces: Record<number, string> = {}) {}
  push(token: number): string {
    const p = this.pieces[token] ?? `<${token}>`;
    if (p.endsWith('\u0000')) {
      this.held += p.slice(0, -1);
      return '';
    }
    const out = this.held + p;
    this.held = '';
    return out;
  }
  flush(): string {
    const out = this.held;
    this.held = '';
    return out;
  }
}

export function prompt(n: number, first = 1): number[] {
  return Array.from({ length: n }, (_, i) => first + i);
}

export function makeRequest(id: string, clock: FakeClock, params: Partial<GenerateParams> = {}): Request {
  return new Request(id, { promptTokens: prompt(4), maxTokens: 4, ...params }, clock.now());
}

export interface Harness {
  clock: FakeClock;
  engine: FakeEngine;
  scheduler: Scheduler;
  /** Every update, by request id, in order. */
  updates: Map<string, RequestUpdate[]>;
  add(id: string, params?: Partial<GenerateParams>): Request;
  /** One step: schedule, run the fake engine, update. Returns the updates. */
  step(): RequestUpdate[];
  /** Steps until no work is left (or the limit). */
  runAll(limit?: number): void;
}

export function harness(options: Partial<SchedulerOptions> = {}, engineOptions: FakeEngineOptions = {}): Harness {
  const clock = new FakeClock();
  const engine = new FakeEngine(engineOptions);
  const scheduler = new Scheduler(engine, { now: clock.now, ...options });
  const updates = new Map<string, RequestUpdate[]>();
  const record = (us: RequestUpdate[]): RequestUpdate[] => {
    for (const u of us) updates.set(u.request.id, [...(updates.get(u.request.id) ?? []), u]);
    return us;
  };
  const h: Harness = {
    clock, engine, scheduler, updates,
    add(id, params) {
      const r = makeRequest(id, clock, params);
      scheduler.add(r);
      return r;
    },
    step() {
      const plan = scheduler.schedule();
      const early = record(scheduler.takeUpdates());
      if (plan.decode.length === 0 && plan.prefill.length === 0) return early;
      let out;
      try {
        out = engine.stepSync(plan);
      } catch (e) {
        return [...early, ...record(scheduler.failStep(toMlxBatchError(e, ENGINE_FAILED)))];
      }
      return [...early, ...record(scheduler.update(out))];
    },
    runAll(limit = 10_000) {
      for (let i = 0; i < limit && scheduler.hasWork(); i++) {
        h.step();
        clock.advance(1);
      }
      if (scheduler.hasWork()) throw new Error('runAll: still work after the limit');
    },
  };
  return h;
}

export function tokensOf(h: Harness, id: string): number[] {
  return (h.updates.get(id) ?? []).flatMap((u) => u.tokens);
}

export function textOf(h: Harness, id: string): string {
  return (h.updates.get(id) ?? []).map((u) => u.text).join('');
}

export function finishOf(h: Harness, id: string): string | undefined {
  return (h.updates.get(id) ?? []).at(-1)?.finishReason;
}
