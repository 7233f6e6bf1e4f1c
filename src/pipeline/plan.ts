/**
 * A compression is a plan: a list of steps run in order on one context (the current model, its
 * analysis, what training and pruning produced). The default plan is analyze → train → export →
 * reduce → verify → report (stages.ts); a method may return another from the same stages —
 * PEMN packs instead of pruning, AutoCompress repeats search → train → reduce for several rounds.
 *
 * Checkpoints are the plan's: which step is under way, the model as it stands when a step
 * changed it, the trainer's state within a training step, and the context's durable state
 * (training summaries, a method's rounds), so `--resume` continues exactly across steps.
 */
import { OtocError } from '../errors.js';
import type { Model } from '../ir/graph.js';
import type { ShapeOverrides } from '../ir/input-shapes.js';
import type { MethodSession, MethodUse } from '../methods/method.js';
import type { ObjectiveUse } from '../objectives/objective.js';
import { decodeModel } from '../onnx/read.js';
import { encodeModel } from '../onnx/write.js';
import type { Json } from '../plugins.js';
import type { BaseOptions } from '../train/optimizer.js';
import type { PruningTarget } from '../methods/target.js';
import type { TrainingMode } from '../train/mode.js';
import type { TrainingObserver } from '../train/observer.js';
import type { TrainConfig, Trainer, TrainerState, TrainingData } from '../train/trainer.js';
import { analyzeModel, type AnalyzedModel } from './analyze.js';
import { readPipelineCheckpoint, writePipelineCheckpoint, type PipelineCheckpoint } from './checkpoint.js';
import type { DistillationTeacher } from './distill.js';
import type { Evaluation } from './measure.js';

/** What a compression starts from. */
export interface PipelineInput {
  /** The model's file, named in errors about the model. */
  modelFile?: string;
  model: Model;
  data: TrainingData;
  /** Where accuracy is measured and real inputs for the equivalence check come from. */
  evaluation?: Evaluation;
  config: TrainConfig;
  /** The base optimizer (methods' settings hold their own copy; plain training steps use this one). */
  base: BaseOptions;
  method: MethodUse;
  objectives: readonly ObjectiveUse[];
  /** What the method aims at, for the report. */
  target?: PruningTarget;
  /** The tfjs backend training runs on, for the report. */
  backend: string;
  /** Input sizes to count MACs at and to draw random inputs with (--shape). */
  shapes?: ShapeOverrides;
  /** onnxruntime runs per model for the latency figures. */
  latencyRuns?: number;
  /** The teacher of a distilled run, which the verify stage measures the small model against (distill.ts). */
  teacher?: DistillationTeacher;
  /** Whether the model was fine-tuned or trained as an initialization, for the report. */
  mode?: TrainingMode;
}

/** How a run is watched, interrupted and checkpointed. */
export interface RunControl {
  /** Aborting stops training before its next step; the plan then saves a checkpoint (when it has a directory) and returns unfinished. */
  signal?: AbortSignal;
  /** Told about every step and every training. */
  observer?: PipelineObserver;
  checkpoint?: {
    dir: string;
    /** Save after every epoch too, not only when interrupted. */
    everyEpoch: boolean;
    /** What a resumed run must match (options, model digest). */
    meta: Json;
    /** Continue from the checkpoint in `dir`. */
    resume: boolean;
  };
}

export interface PipelineObserver {
  /** A step of the plan begins. */
  onStep?(name: string, index: number, of: number): void;
  /** A step's progress line outside training (e.g. a search's temperature levels). */
  onMessage?(line: string): void;
  training?: TrainingObserver;
}

export interface PlanStep {
  name: string;
  /** Runs the step; false when it was interrupted (the context is then ready for a checkpoint). */
  run(ctx: PipelineContext): Promise<boolean | void>;
}

/** A training's summary, as the report and later steps need it. */
export interface TrainingOutcome {
  seconds: number;
  epochs: number;
  steps: number;
  /** Samples trained on, every epoch counted. */
  samples: number;
  /** The step from which the small network trained, when it did. */
  smallNetworkFromStep?: number;
}

export class PipelineContext {
  model: Model;
  /** Durable results of the steps so far (checkpoints keep them): training summaries, a method's rounds. */
  state: { training: TrainingOutcome[]; [key: string]: Json | TrainingOutcome[] } = { training: [] };
  /** The trainer between a training step and the export that takes its weights. */
  trainer?: Trainer;
  /** The last training's method session, for the report. */
  session?: MethodSession;
  /** The trained full model, serialized, and the model the plan produced from it. */
  full?: Uint8Array;
  small?: Uint8Array;
  /** Results the report step assembles, by stage. */
  readonly results: Record<string, unknown> = {};
  /** The trainer state a resumed training step continues from, once. */
  resumeTrainer?: TrainerState;
  private analyzed?: AnalyzedModel;
  private modelChanged = false;
  private stepIndex = 0;

  constructor(
    readonly input: PipelineInput,
    readonly control: RunControl,
  ) {
    this.model = input.model;
  }

  /** The current model's analysis (constants folded, shapes, ZIGs), computed once per model version. */
  analysis(): AnalyzedModel {
    return (this.analyzed ??= analyzeModel(this.model));
  }

  /** A step replaced the model (pruned it): later steps analyze the new one, and checkpoints keep it. */
  replaceModel(model: Model): void {
    this.model = model;
    this.analyzed = undefined;
    this.modelChanged = true;
  }

  /** Saves a checkpoint at the step under way, with `trainer` when it is inside a training. */
  saveCheckpoint(trainer?: TrainerState): void {
    const c = this.control.checkpoint;
    if (!c) return;
    writePipelineCheckpoint(c.dir, {
      meta: c.meta,
      step: this.stepIndex,
      state: this.state as unknown as Json,
      ...(trainer && { trainer }),
      ...(this.modelChanged && { model: modelBytes(this.model) }),
    });
  }

  /** Runs `plan` from the start, or from the checkpoint when resuming; returns whether it finished. */
  async run(plan: readonly PlanStep[]): Promise<boolean> {
    const c = this.control.checkpoint;
    if (c?.resume) this.restore(readPipelineCheckpoint(c.dir, c.meta));
    try {
      for (; this.stepIndex < plan.length; this.stepIndex++) {
        const step = plan[this.stepIndex];
        this.control.observer?.onStep?.(step.name, this.stepIndex, plan.length);
        if ((await step.run(this)) === false) return false;
      }
      return true;
    } finally {
      await this.disposeTrainer();
    }
  }

  /** Frees the trainer of the last training step (its tensors and worker threads). */
  async disposeTrainer(): Promise<void> {
    const trainer = this.trainer;
    this.trainer = undefined;
    await trainer?.dispose();
  }

  private restore(checkpoint: PipelineCheckpoint): void {
    this.stepIndex = checkpoint.step;
    this.state = checkpoint.state as unknown as PipelineContext['state'];
    this.resumeTrainer = checkpoint.trainer;
    if (checkpoint.model) {
      this.model = decodeModel(checkpoint.model, { ownsBytes: true });
      this.analyzed = undefined;
      this.modelChanged = true;
    }
  }
}

/** The model for a checkpoint, which keeps no external-data files. */
function modelBytes(model: Model): Uint8Array {
  const { model: bytes, external } = encodeModel(model);
  if (external.size) throw new OtocError('a checkpoint cannot keep a changed model with external data');
  return bytes;
}
