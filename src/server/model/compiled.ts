// mx.compile for the model's graphs. A compiled function is traced once per input shape and
// replayed from C++: one call instead of dozens of operations built one by one from JavaScript,
// and its elementwise operations fused into single kernels. MLX builds those kernels with the
// system C++ compiler on the CPU (native/cpu-jit.ts sets its flags) and as Metal kernels on a
// Mac. Without a working compiler, or with MLX_BATCH_COMPILE=0, everything runs as plain
// operations: the same numbers (the CPU kernels are built without floating-point contraction).
import { mx } from '../mlx';

let available: boolean | undefined;

/** Whether compiled graphs run here (probed once: a fused kernel is built and evaluated). */
export function compileAvailable(): boolean {
  if (available === undefined) available = probe();
  return available;
}

function probe(): boolean {
  if (process.env.MLX_BATCH_COMPILE === '0') return false;
  try {
    const x = mx.ones([2]);
    mx.eval(mx.compile((a: typeof x, b: typeof x) => mx.multiply(mx.add(a, b), b))(x, x));
    return true;
  } catch {
    return false;
  }
}

/**
 * `fn` compiled, or `fn` itself where compiling is off or unavailable. A compiled function is
 * traced again for every new input shape, unless `shapeless` (one trace for all shapes: only for
 * graphs whose operations take no shape, such as elementwise ones).
 */
export function compiled<F extends (...args: never[]) => unknown>(fn: F, shapeless = false): F {
  return compileAvailable() ? (mx.compile(fn as never, shapeless) as unknown as F) : fn;
}
