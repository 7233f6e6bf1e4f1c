import type { Model } from '../ir/graph.js';
import { checkShapeOverrides, parseShapeOverrides, type ShapeOverrides } from '../ir/input-shapes.js';

/** `--shape name=1x3x640x640`, repeatable: what every command that counts or runs a model takes. */
export const SHAPE_OPTION = {
  type: 'string',
  array: true,
  describe: 'Sizes of an input with symbolic dims, name=1x3x640x640 (repeatable): MACs, shapes and random inputs follow them; other symbolic dims count as 1',
} as const;

/** The --shape values, checked against the model's inputs. */
export function shapeOverrides(model: Model, specs: readonly string[] | undefined): ShapeOverrides {
  const shapes = parseShapeOverrides(specs ?? []);
  checkShapeOverrides(model, shapes);
  return shapes;
}
