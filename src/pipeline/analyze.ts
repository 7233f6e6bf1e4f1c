import type { Model } from '../ir/graph.js';
import { analyzeGroups, type GroupAnalysis } from '../../passes/analyze-groups.js';
import { foldConstants } from '../../passes/fold-constants.js';
import { inferShapes, nodeFacts, type ShapeAnalysis } from '../../passes/infer-shapes.js';

export interface AnalyzedModel {
  model: Model;
  facts: ShapeAnalysis;
  groups: GroupAnalysis;
}

/**
 * Fold constants (so shape operands are initializers that pruning can rewrite), infer shapes,
 * and find the zero-invariant groups. Changes `model` only by the folding, which keeps its outputs.
 */
export function analyzeModel(model: Model): AnalyzedModel {
  foldConstants(model, inferShapes(model));
  const facts = inferShapes(model);
  const groups = analyzeGroups(model, (node) => nodeFacts(node, model.opset(node.domain) ?? 0, facts));
  return { model, facts, groups };
}
