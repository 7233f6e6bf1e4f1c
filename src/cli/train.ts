import type { Argv } from 'yargs';
import type { CommandBody } from './command.js';
import { validateJson } from '../io/json-schema.js';
import type { MethodPlugin, MethodUse } from '../methods/method.js';
import { plainTraining } from '../methods/plain.js';
import { writeModel } from '../onnx/write.js';
import { train } from '../pipeline/compress.js';
import type { BackendName } from '../tfjs/backend-names.js';
import type { EpochReport } from '../train/observer.js';
import { describeRun, distillChoice, distilledInput } from './distill-run.js';
import { SHAPE_OPTION } from './shape-option.js';
import { withTrainingOptions, type TrainingArgs } from './training-options.js';
import { checkpointDir, pipelineInput, prepareRun, runPipeline, runSettings } from './training-run.js';

type TrainArgs = TrainingArgs & { shape?: string[] };

export const trainCommand: CommandBody<TrainArgs> = {
  builder: (y) =>
    withTrainingOptions(y, { epochs: 10 })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'Where to write the trained model' })
      .option('json', { type: 'boolean', describe: 'Print the summary as JSON (schemas/train.schema.json)' })
      .option('shape', SHAPE_OPTION)
      .example('$0 zoo small-cnn -o cnn.onnx && $0 train cnn.onnx --epochs 3 -o trained.onnx', 'Train a zoo net on Fashion-MNIST')
      .example('$0 train cnn.onnx --limit 2000 --epochs 1 --batch-size 16 -o quick.onnx', 'A quick run on 2,000 images')
      .example('$0 train cnn.onnx --checkpoint ckpt -o trained.onnx --resume', 'Continue an interrupted run')
      .example('$0 train student.onnx --data samples/ --teacher big.onnx -o student-trained.onnx', "Train toward another model's outputs, without labels") as unknown as Argv<TrainArgs>,
  handler: async (args) => {
    const run = await prepareRun(args, args.shape);
    const choice = distillChoice(args, run.samples.train.labels !== undefined, false);
    const settings = runSettings(args, 'plain', choice);
    const method: MethodUse = { plugin: plainTraining as MethodPlugin, settings: settings.optimizer };
    const { input, setup } = await distilledInput(args, choice, pipelineInput(args, settings, run, method));
    if (!args.json) console.log(describeRun(choice, settings.config.lr, setup, args).join('\n'));
    const trained = await runPipeline(args, settings, run.backend, (control) => train(input, control));
    if (trained) writeModel(trained.model, args.output);
    const summary: TrainSummary = {
      model: args.model,
      output: args.output,
      data: args.data,
      backend: run.backend,
      trainImages: run.samples.train.count,
      valImages: run.samples.val?.count ?? 0,
      epochs: trained?.epochs ?? [],
      finished: trained !== undefined,
      ...(!trained && { checkpoint: checkpointDir(args) }),
    };
    if (args.json) {
      validateJson('train.schema.json', summary);
      console.log(JSON.stringify(summary, null, 2));
    } else if (trained) {
      console.log(`wrote ${args.output}`);
    }
  },
};

/** What `--json` prints (schemas/train.schema.json). */
interface TrainSummary {
  model: string;
  output: string;
  data: string;
  backend: BackendName;
  trainImages: number;
  valImages: number;
  epochs: EpochReport[];
  finished: boolean;
  checkpoint?: string;
}
