/**
 * A teacher model in onnxruntime: its outputs on samples, as per-sample arrays (float32) of the
 * outputs' names, which distillation trains toward. onnxruntime, not the tfjs mirror, computes
 * them: it measured about twice as fast on the Fashion-MNIST VGG (bench/distill-fmnist.ts), and
 * runs any model onnxruntime runs.
 */
import type ort from 'onnxruntime-node';
import type { SampleTensor, Samples } from '../data/samples.js';
import { OtocError } from '../errors.js';
import { DataType, isFloatType } from '../ir/dtype.js';
import { float16ArrayToNumbers } from '../ir/float16.js';
import { formatShape } from '../ir/types.js';
import { isNumeric, type Tensor } from '../ir/tensor.js';
import { runOverSamples } from './evaluate.js';
import { createSession } from './ort.js';

/** One output of the teacher, per sample. */
export interface TeacherOutput {
  name: string;
  sampleDims: number[];
  /** Whether the model computes it in a float type (only those can be trained toward). */
  isFloat: boolean;
}

export class Teacher {
  private constructor(
    readonly session: ort.InferenceSession,
    /** The teacher's file (or a description), for messages. */
    readonly label: string,
  ) {}

  static async load(model: Uint8Array | string, label: string): Promise<Teacher> {
    return new Teacher(await createSession(model), label);
  }

  /** The teacher's numeric outputs on `samples` (every sample: a fixed batch must divide their count). */
  async outputs(samples: Samples, batch = 256): Promise<{ outputs: TeacherOutput[]; values: SampleTensor[] }> {
    let outputs: TeacherOutput[] | undefined;
    let values: SampleTensor[] = [];
    let done = 0;
    for await (const run of runOverSamples(this.session, samples, batch)) {
      const numeric = run.outputs.filter(isNumeric);
      outputs ??= numeric.map((t) => this.describe(t, run.count));
      if (!values.length) values = outputs.map((o) => ({ name: o.name, sampleDims: o.sampleDims, data: new Float32Array(samples.count * size(o.sampleDims)) }));
      numeric.forEach((t, i) => {
        const o = outputs![i];
        if (t.dims[0] !== run.count || t.dims.slice(1).join() !== o.sampleDims.join()) throw this.notPerSample(t, run.count);
        values[i].data.set(floats(t), run.start * size(o.sampleDims));
      });
      done += run.count;
    }
    if (done !== samples.count) throw new OtocError(`its file fixes the batch, which does not divide the ${samples.count} samples`, this.label);
    return { outputs: outputs ?? [], values };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }

  private describe(t: Tensor, count: number): TeacherOutput {
    if (t.dims[0] !== count) throw this.notPerSample(t, count);
    return { name: t.name, sampleDims: t.dims.slice(1), isFloat: isFloatType(t.dataType) };
  }

  private notPerSample(t: Tensor, count: number): OtocError {
    return new OtocError(`the output '${t.name}' is ${formatShape(t.dims)} for ${count} samples: distillation needs outputs whose first axis is the batch`, this.label);
  }
}

function size(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** A numeric tensor's values as float32. */
export function floats(t: Tensor): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.dataType === DataType.FLOAT16) return float16ArrayToNumbers(t.data as Uint16Array);
  return Float32Array.from(t.data as ArrayLike<number | bigint>, Number);
}
