// The loss and its gradients for every trainable parameter of a model, passed to node-mlx as one
// flat list of arrays rather than as the nested parameter tree. node-mlx 0.0.7 copies a dict's
// keys into a map ordered by the address of their handles (`src/trees.cc` via kizunapi), and it
// flattens the parameters and rebuilds the gradient tree at different handle counts; when a
// dict's keys straddle a handle block the two orders differ and gradients land under other
// parameters' names: silently when the shapes agree, or as "Shapes (192,512) and (512,192)
// cannot be broadcast" in AdamW. The default model's 8-layer key layout hits it in about a third
// of runs (fixed upstream in node-mlx 0.0.15, commit 55744b4). A list is walked by index, and the
// names are put back here, on the JavaScript side.
import { mx, utils, type MxArray, type nn } from '../server/mlx';

type Tree = Record<string, unknown>;

/** Like `nn.valueAndGrad(model, fn)`: returns `[loss, gradients]` with gradients in the shape of `model.trainableParameters()`. */
export function flatValueAndGrad<A extends unknown[]>(model: nn.Module, fn: (...args: A) => MxArray): (...args: A) => [MxArray, Tree] {
  let names: string[] = [];
  const inner = mx.valueAndGrad((arrays: MxArray[], ...args: A) => {
    model.update(utils.treeUnflatten(names.map((n, i) => [n, arrays[i]])) as never);
    return fn(...args);
  });
  return (...args: A) => {
    const flat = utils.treeFlatten(model.trainableParameters() as never) as [string, MxArray][];
    names = flat.map(([n]) => n);
    const [value, grads] = inner(flat.map(([, a]) => a), ...args) as unknown as [MxArray, MxArray[]];
    return [value, utils.treeUnflatten(names.map((n, i) => [n, grads[i]])) as Tree];
  };
}
