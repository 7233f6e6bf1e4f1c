/**
 * The pipeline's checkpoint: the step under way, the context's durable state, the trainer's state
 * within a training, and the model when a step changed it (model.onnx beside the checkpoint file,
 * written atomically with it). The meta data says which run it belongs to: a resumed run with
 * other settings would not be the uninterrupted run, so it is refused, naming what differs.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OtocError } from '../errors.js';
import { writeFilesAtomically } from '../io/atomic.js';
import type { Json } from '../plugins.js';
import { CHECKPOINT_FILE, encodeCheckpoint, readCheckpoint } from '../train/checkpoint.js';
import type { TrainerState } from '../train/trainer.js';

const MODEL_FILE = 'model.onnx';

export interface PipelineCheckpoint {
  meta: Json;
  /** Index of the plan step under way. */
  step: number;
  state: Json;
  trainer?: TrainerState;
  /** The model as the steps before left it, when one of them changed it. */
  model?: Uint8Array;
}

export function writePipelineCheckpoint(dir: string, { model, trainer, ...position }: PipelineCheckpoint): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new OtocError(`cannot create the checkpoint directory (${(e as NodeJS.ErrnoException).code ?? String(e)})`, dir);
  }
  const files: [string, Uint8Array[]][] = [[join(dir, CHECKPOINT_FILE), encodeCheckpoint({ meta: position, trainer })]];
  if (model) files.push([join(dir, MODEL_FILE), [model]]);
  writeFilesAtomically(files);
}

/** The checkpoint in `dir`, refused when it belongs to a run with other `meta`. */
export function readPipelineCheckpoint(dir: string, meta: Json): PipelineCheckpoint {
  const { meta: position, trainer } = readCheckpoint<Omit<PipelineCheckpoint, 'model' | 'trainer'>>(dir);
  if (typeof position?.step !== 'number' || position.state === undefined) {
    throw new OtocError('not a checkpoint of this version of otoc', join(dir, CHECKPOINT_FILE));
  }
  checkSameRun(position.meta, meta, dir);
  const modelPath = join(dir, MODEL_FILE);
  return { ...position, ...(trainer && { trainer }), ...(existsSync(modelPath) && { model: readFileSync(modelPath) }) };
}

/** Refuses to resume a checkpoint of a different run, naming the settings that differ. */
function checkSameRun(saved: Json, now: Json, dir: string): void {
  const differing = differences(saved, now);
  if (differing.length === 0) return;
  const what = differing.map(({ key, a, b }) =>
    key === 'modelSha256' ? 'the model file' : `${key} (${JSON.stringify(a)} there, ${JSON.stringify(b)} now)`,
  );
  throw new OtocError(`the checkpoint is of a different run: ${what.join(', ')} differ; resume with the same model and options`, dir);
}

/** The leaves where `a` and `b` differ, named by their own keys (nested objects are looked into). */
function differences(a: Json | undefined, b: Json | undefined, key = ''): { key: string; a: Json | undefined; b: Json | undefined }[] {
  const isObject = (v: Json | undefined): v is { [k: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])];
    return keys.flatMap((k) => differences(a[k], b[k], k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ key, a, b }];
}
