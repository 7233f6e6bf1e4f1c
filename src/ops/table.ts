/** The op table: every operator otoc knows, registered family by family (one file per family). */
import type { OpSpec } from './spec.js';
import { convOps } from './conv.js';
import { elementwiseOps } from './elementwise.js';
import { generatorOps } from './generators.js';
import { indexingOps } from './indexing.js';
import { matmulOps } from './matmul.js';
import { normalizationOps } from './normalization.js';
import { poolingOps } from './pooling.js';
import { reduceOps } from './reduce.js';
import { resizeOps } from './resize.js';
import { recurrentOps } from './recurrent.js';
import { shapeOps } from './shape-ops.js';

const registry = new Map<string, OpSpec>();
for (const spec of [
  ...elementwiseOps,
  ...convOps,
  ...poolingOps,
  ...normalizationOps,
  ...matmulOps,
  ...recurrentOps,
  ...reduceOps,
  ...resizeOps,
  ...shapeOps,
  ...indexingOps,
  ...generatorOps,
]) {
  const key = registryKey(spec.opType, spec.domain);
  if (registry.has(key)) throw new Error(`op table lists ${spec.opType} twice`);
  registry.set(key, spec);
}

function registryKey(opType: string, domain: string): string {
  return `${domain === 'ai.onnx' ? '' : domain}\u0000${opType}`;
}

/** The table entry for an operator, or undefined when otoc does not know it. */
export function opSpec(opType: string, domain = ''): OpSpec | undefined {
  return registry.get(registryKey(opType, domain));
}
