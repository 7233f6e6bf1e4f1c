import type { CommandBody } from './command.js';
import { OtocError } from '../errors.js';
import { writeModel } from '../onnx/write.js';
import { ZOO, zooEntry } from '../../models/zoo.js';

interface ZooArgs {
  name: string;
  input: string;
  classes: number;
  seed: number;
  output?: string;
}

export const zooCommand: CommandBody<ZooArgs> = {
  builder: (y) =>
    y
      .positional('name', { type: 'string', demandOption: true, describe: "Architecture name, or 'list'" })
      .option('input', { type: 'string', default: '1x28x28', describe: 'Per-sample input shape CxHxW' })
      .option('classes', { type: 'number', default: 10, describe: 'Number of output classes' })
      .option('seed', { type: 'number', default: 0, describe: 'Seed of the weight initialization' })
      .option('output', { alias: 'o', type: 'string', describe: 'Where to write the ONNX model' })
      .example('$0 zoo list', 'List the architectures')
      .example('$0 zoo vgg --input 1x28x28 --classes 10 -o vgg.onnx', 'A VGG-style net for Fashion-MNIST'),
  handler: async (args) => {
    if (args.name === 'list') {
      const width = Math.max(...ZOO.map((e) => e.name.length));
      for (const e of ZOO) console.log(`${e.name.padEnd(width)}  ${e.description}`);
      return;
    }
    const entry = zooEntry(args.name);
    if (!entry) throw new OtocError(`unknown architecture '${args.name}' (known: ${ZOO.map((e) => e.name).join(', ')})`);
    if (!args.output) throw new OtocError('give the output file with -o model.onnx');
    const input = parseInputShape(args.input);
    if (!Number.isInteger(args.classes) || args.classes < 1) throw new OtocError(`--classes must be a positive integer`);
    writeModel(entry.build({ input, classes: args.classes, seed: args.seed }), args.output);
    console.log(`wrote ${args.output} (${entry.name}, input ${input.join('x')}, ${args.classes} classes)`);
  },
};

function parseInputShape(text: string): number[] {
  const dims = text.split('x').map(Number);
  if (dims.length !== 3 || dims.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new OtocError(`--input must be CxHxW with positive integers, got '${text}'`);
  }
  const [, h, w] = dims;
  if (h < 8 || w < 8) throw new OtocError(`--input ${text}: the zoo nets pool twice, so H and W must be at least 8`);
  return dims;
}
