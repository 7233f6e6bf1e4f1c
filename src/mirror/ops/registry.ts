/**
 * The mirror's side of the op table: how the training mirror computes each op with tfjs, by op
 * type, one file per op family as in src/ops/. Kept apart from the op table so that the commands
 * that do not train never load tfjs.
 */
import { opSpec } from '../../ops/table.js';
import { convRules } from './conv.js';
import { elementwiseRules } from './elementwise.js';
import { generatorRules } from './generators.js';
import { indexingRules } from './indexing.js';
import { matmulRules } from './matmul.js';
import { normalizationRules } from './normalization.js';
import { poolingRules } from './pooling.js';
import { recurrentRules } from './recurrent.js';
import { reduceRules } from './reduce.js';
import { resizeRules } from './resize.js';
import type { TfjsRule } from './rule.js';
import { shapeRules } from './shape-ops.js';

const registry = new Map<string, TfjsRule>();
for (const family of [
  elementwiseRules,
  convRules,
  poolingRules,
  normalizationRules,
  matmulRules,
  recurrentRules,
  reduceRules,
  resizeRules,
  shapeRules,
  indexingRules,
  generatorRules,
]) {
  for (const [opType, rule] of Object.entries(family)) {
    // A rule needs the op's shape rule (the mirror reads static facts) and may appear once.
    if (!opSpec(opType)) throw new Error(`the mirror has a tfjs rule for ${opType}, which the op table lacks`);
    if (registry.has(opType)) throw new Error(`the mirror lists ${opType} twice`);
    registry.set(opType, rule);
  }
}

/** The tfjs rule of an operator, or undefined when the mirror cannot compute it. */
export function tfjsRule(opType: string, domain = ''): TfjsRule | undefined {
  return domain === '' || domain === 'ai.onnx' ? registry.get(opType) : undefined;
}

/** The op types (default ONNX domain) the mirror computes. */
export function tfjsOpTypes(): string[] {
  return [...registry.keys()];
}
