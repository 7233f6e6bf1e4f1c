import { statSync } from 'node:fs';
import type { CommandBody } from './command.js';
import { MAC_CONVENTION, PARAMETER_CONVENTION, accountPerSample } from '../../passes/accounting.js';
import { inferShapes, type ShapeAnalysis } from '../../passes/infer-shapes.js';
import { attributedTo } from '../errors.js';
import { dataTypeName } from '../ir/dtype.js';
import type { Model, Value } from '../ir/graph.js';
import { dimsToShape, formatShape, type Shape } from '../ir/types.js';
import { NO_OVERRIDES, assumedShape, symbolicInputs, symbolicNote, type ShapeOverrides, type SymbolicInput } from '../ir/input-shapes.js';
import { validateJson } from '../io/json-schema.js';
import { packedFileInfo, type PackedFileInfo } from '../methods/pemn/pack.js';
import { loadModel } from './load-model.js';
import { SHAPE_OPTION, shapeOverrides } from './shape-option.js';

interface InspectArgs {
  model: string;
  shape?: string[];
  json?: boolean;
}

export const inspectCommand: CommandBody<InspectArgs> = {
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'ONNX model file' })
      .option('shape', SHAPE_OPTION)
      .option('json', { type: 'boolean', describe: 'Print the report as JSON (schemas/inspect.schema.json)' })
      .example('$0 inspect model.onnx', 'Human-readable report')
      .example('$0 inspect detector.onnx --shape images=1x3x640x640', 'MACs at the resolution the detector runs at')
      .example('$0 inspect model.onnx --json', 'Machine-readable report'),
  handler: (args) => {
    const model = loadModel(args.model);
    const report = inspectModel(args.model, model, shapeOverrides(model, args.shape));
    if (args.json) {
      validateJson('inspect.schema.json', report);
      console.log(JSON.stringify(report, null, 2));
    } else {
      console.log(formatInspectReport(report));
    }
  },
};

export interface TensorSummary {
  name: string;
  /** Element type name (float32, int64, ...); null when not known. */
  elemType: string | null;
  /** Dims are sizes, symbolic names, or null when unknown; the whole shape is null when even the rank is unknown. */
  shape: Shape | null;
}

export interface NodeMacsRow {
  /** Position in the graph's node list. */
  index: number;
  name: string;
  opType: string;
  outputShape: Shape | null;
  /** Null when not known (an op otoc does not know, or shapes it could not infer). */
  macs: number | null;
}

/** What `otoc inspect --json` prints (schemas/inspect.schema.json). */
export interface InspectReport {
  file: string;
  fileSizeBytes: number;
  irVersion: number;
  producer: string | null;
  opsets: { domain: string; version: number }[];
  inputs: TensorSummary[];
  outputs: TensorSummary[];
  nodeCount: number;
  /** Node count per operator, most frequent first; operators outside the default domain are written `domain:opType`. */
  opTypes: Record<string, number>;
  parameters: {
    convention: string;
    learnable: number;
    buffers: number;
    otherInitializerElements: number;
    /** Present when weights are rebuilt at load time (a PEMN file): their elements, included in `learnable`. */
    rebuiltWeights?: number;
    /** File bytes × 8 / rebuilt weight elements. */
    bitsPerWeight?: number;
  };
  macs: { convention: string; total: number; complete: boolean; nodes: NodeMacsRow[] };
  /** Inputs whose shapes still hold symbolic dims after --shape: their MACs count those dims as 1. */
  symbolicInputs?: SymbolicInput[];
  /** What a packed PEMN file says about itself (its metadata). */
  packed?: PackedFileInfo;
}

/** The report on `model`, read from `path`, at the input sizes of `overrides` (--shape). */
export function inspectModel(path: string, model = loadModel(path), overrides: ShapeOverrides = NO_OVERRIDES): InspectReport {
  const { shapes, accounting } = attributedTo(path, () => ({
    shapes: inferShapes(model, { inputShape: (v, declared) => assumedShape(v.name, declared, overrides)! }),
    accounting: accountPerSample(model, overrides),
  }));
  const symbolic = symbolicInputs(model, overrides);
  const graph = model.graph;
  const producer = [model.producerName, model.producerVersion].filter(Boolean).join(' ');
  const fileSizeBytes = statSync(path).size;
  const packed = packedFileInfo(model);
  const rebuilt = accounting.rebuiltWeights;
  const macRows = accounting.nodeMacs.map(({ node, macs }, index): NodeMacsRow => {
    const out = node.outputs[0];
    return { index, name: node.name, opType: node.opType, outputShape: (out && shapes.get(out)?.shape) ?? null, macs: macs ?? null };
  });
  return {
    file: path,
    fileSizeBytes,
    irVersion: model.irVersion,
    producer: producer || null,
    opsets: model.opsetImports.map((o) => ({ domain: o.domain || 'ai.onnx', version: o.version })),
    // Inputs backed by an initializer have a default value: they are weights, not what a caller feeds.
    inputs: graph.inputs.filter((v) => !v.constant).map((v) => summarize(v, shapes)),
    outputs: graph.outputs.map((v) => summarize(v, shapes)),
    nodeCount: graph.nodes.length,
    opTypes: histogram(model),
    parameters: {
      convention: PARAMETER_CONVENTION,
      learnable: accounting.parameters,
      buffers: accounting.buffers,
      otherInitializerElements: accounting.otherInitializerElements,
      ...(rebuilt > 0 && { rebuiltWeights: rebuilt, bitsPerWeight: (8 * fileSizeBytes) / rebuilt }),
    },
    macs: {
      convention: MAC_CONVENTION,
      total: accounting.totalMacs,
      complete: macRows.every((r) => r.macs !== null),
      nodes: macRows,
    },
    ...(symbolic.length ? { symbolicInputs: symbolic } : {}),
    ...(packed && { packed }),
  };
}

/** A value's type as inferred, or as declared when inference knows nothing about it. */
function summarize(v: Value, shapes: ShapeAnalysis): TensorSummary {
  const inferred = shapes.get(v);
  const declared = v.type?.kind === 'tensor' ? v.type : undefined;
  const elemType = inferred?.elemType ?? declared?.elemType;
  const shape = inferred?.shape ?? (declared?.shape && dimsToShape(declared.shape));
  return { name: v.name, elemType: elemType ? dataTypeName(elemType) : null, shape: shape ?? null };
}

function histogram(model: Model): Record<string, number> {
  const counts = new Map<string, number>();
  for (const node of model.graph.nodes) {
    const key = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}:${node.opType}` : node.opType;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

export function formatInspectReport(r: InspectReport): string {
  const tensorLines = (list: TensorSummary[]) =>
    table(list.map((t) => [`  ${t.name}`, t.elemType ?? '?', formatShape(t.shape ?? undefined)]));
  const unknown = r.macs.nodes.filter((n) => n.macs === null);
  const listed = r.macs.nodes.filter((n) => n.macs !== 0);
  const macRows = listed.map((n) => [
    `  ${n.name || `#${n.index}`}`,
    n.opType,
    formatShape(n.outputShape ?? undefined),
    n.macs === null ? '?' : count(n.macs),
    n.macs === null || r.macs.total === 0 ? '' : `${((100 * n.macs) / r.macs.total).toFixed(1)}%`,
  ]);
  const total = `${r.macs.complete ? '' : 'at least '}${count(r.macs.total)} (${short(r.macs.total)})`;
  return [
    `model:       ${r.file} (${count(r.fileSizeBytes)} bytes)`,
    `format:      IR version ${r.irVersion}; opsets ${r.opsets.map((o) => `${o.domain} ${o.version}`).join(', ')}` +
      (r.producer ? `; produced by ${r.producer}` : ''),
    ...(r.packed
      ? [
          `packed:      PEMN: ${count(r.packed.maskedWeights)} weights of ${r.packed.maskedLayers} layers rebuilt from prototype ${r.packed.prototype} ` +
            `(${count(r.packed.prototypeLength)} values) and 1-bit masks (keep ${r.packed.keep})`,
        ]
      : []),
    'inputs:',
    ...tensorLines(r.inputs),
    'outputs:',
    ...tensorLines(r.outputs),
    '',
    `operators (${r.nodeCount} nodes):`,
    ...table(Object.entries(r.opTypes).map(([op, n]) => [`  ${op}`, String(n)]), [false, true]),
    '',
    `parameters:  ${count(r.parameters.learnable)} (${short(r.parameters.learnable)})`,
    ...(r.parameters.rebuiltWeights === undefined
      ? []
      : [
          `  of which ${count(r.parameters.rebuiltWeights)} weights rebuilt at load time from the file's initializers: ` +
            `${r.parameters.bitsPerWeight!.toFixed(3)} bits per weight (file bytes × 8 / rebuilt weights)`,
        ]),
    `buffers:     ${count(r.parameters.buffers)} (BatchNorm running statistics, not parameters)`,
    `other initializer elements: ${count(r.parameters.otherInitializerElements)} (shapes, scales and other constants)`,
    `  convention: ${r.parameters.convention}`,
    '',
    'multiply-accumulates per node:',
    ...table([['  node', 'op', 'output shape', 'MACs', 'share'], ...macRows], [false, false, false, true, true]),
    `  (${r.macs.nodes.length - listed.length} nodes with 0 MACs not listed)`,
    `total MACs:  ${total}` + (unknown.length ? `; unknown for ${unknown.length} node(s): ${unknown.map((n) => n.opType).join(', ')}` : ''),
    `  convention: ${r.macs.convention}`,
    ...[symbolicNote(r.symbolicInputs ?? [])].filter((line) => line !== undefined),
  ].join('\n');
}

/** Rows as aligned columns (right-aligned where `right` says so). */
function table(rows: string[][], right: boolean[] = []): string[] {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((row) => row[col].length))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, col) => (right[col] ? cell.padStart(widths[col]) : cell.padEnd(widths[col])))
      .join('  ')
      .trimEnd(),
  );
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** 148050944 → "148.05 M". */
function short(n: number): string {
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  const unit = units.find(([size]) => n >= size);
  return unit ? `${(n / unit[0]).toFixed(2)} ${unit[1]}` : String(n);
}
