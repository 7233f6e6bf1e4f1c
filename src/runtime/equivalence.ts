import type ort from 'onnxruntime-node';
import { OtocError } from '../errors.js';
import type { Tensor } from '../ir/tensor.js';
import { OutputComparison, Tolerance, compareOutputs } from './compare-outputs.js';
import { Feeds, runSession } from './ort.js';

/** A loaded model and how messages name it (its file). */
export interface Subject {
  label: string;
  session: ort.InferenceSession;
}

export interface EquivalenceReport {
  equivalent: boolean;
  /** Why not, in one line (absent when equivalent). */
  reason?: string;
  /** Number of input sets both models ran on. */
  runs: number;
  /** Per output, the comparison of the run where it came out worst (empty when the interfaces differ). */
  outputs: (OutputComparison & { run: number })[];
}

/**
 * Run both models on every input set and compare their outputs; `a` is the reference whose
 * magnitude scales the relative tolerance. Models with different inputs or outputs are not
 * equivalent.
 */
export async function checkEquivalence(a: Subject, b: Subject, inputSets: Feeds[], tolerance: Tolerance): Promise<EquivalenceReport> {
  const mismatch = interfaceMismatch(a, b);
  if (mismatch) return { equivalent: false, reason: mismatch, runs: 0, outputs: [] };
  const worst: (OutputComparison & { run: number })[] = [];
  for (const [run, feeds] of inputSets.entries()) {
    const outputsA = await runOn(a, feeds);
    const outputsB = await runOn(b, feeds);
    outputsA.forEach((output, i) => {
      const comparison = { ...compareOutputs(output, outputsB[i], tolerance), run };
      if (!worst[i] || isWorse(comparison, worst[i])) worst[i] = comparison;
    });
  }
  const failed = worst.find((c) => !c.pass);
  return {
    equivalent: !failed,
    ...(failed ? { reason: `output '${failed.name}' (input set #${failed.run}): ${failed.reason}` } : {}),
    runs: inputSets.length,
    outputs: worst,
  };
}

async function runOn(subject: Subject, feeds: Feeds): Promise<Tensor[]> {
  try {
    return await runSession(subject.session, feeds);
  } catch (e) {
    throw e instanceof OtocError ? e.inFile(subject.label) : e;
  }
}

/** Failing comparisons first, then the one that uses more of its allowance. */
function isWorse(x: OutputComparison, y: OutputComparison): boolean {
  if (x.pass !== y.pass) return !x.pass;
  if (x.mismatches !== y.mismatches) return x.mismatches > y.mismatches;
  return x.maxAbsDiff - x.allowed > y.maxAbsDiff - y.allowed;
}

/** Why the two models cannot be compared output by output, if they cannot. */
function interfaceMismatch(a: Subject, b: Subject): string | undefined {
  const inputsA = new Map(a.session.inputMetadata.map((m) => [m.name, m]));
  const inputsB = new Map(b.session.inputMetadata.map((m) => [m.name, m]));
  const names = (inputs: Map<string, unknown>) => [...inputs.keys()].sort().join(', ');
  if (names(inputsA) !== names(inputsB)) {
    return `the models take different inputs: ${a.label} takes [${names(inputsA)}], ${b.label} takes [${names(inputsB)}]`;
  }
  for (const [name, inputA] of inputsA) {
    const [typeA, typeB] = [inputA, inputsB.get(name)!].map(describeInput);
    if (typeA !== typeB) return `input '${name}' is ${typeA} in ${a.label} but ${typeB} in ${b.label}`;
  }
  const outputsA = a.session.outputNames.join(', ');
  const outputsB = b.session.outputNames.join(', ');
  if (outputsA !== outputsB) {
    return `the models give different outputs: ${a.label} gives [${outputsA}], ${b.label} gives [${outputsB}]`;
  }
  return undefined;
}

/** Element type and shape, with symbolic and unknown dims written as '?' (they fit any size). */
function describeInput(m: ort.InferenceSession.ValueMetadata): string {
  if (!m.isTensor) return 'a non-tensor value';
  return `a ${m.type} tensor [${m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : '?')).join(', ')}]`;
}
