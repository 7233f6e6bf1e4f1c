import type { Model, Value } from '../src/ir/graph.js';
import { NetBuilder } from './builder.js';

export interface ZooOptions {
  /** Per-sample input shape [C, H, W]. */
  input: number[];
  classes: number;
  seed: number;
}

export interface ZooEntry {
  name: string;
  description: string;
  build(o: ZooOptions): Model;
}

/** conv → BN → ReLU, the unit every zoo CNN is made of. */
function convBnRelu(b: NetBuilder, x: Value, out: number, stride = 1): Value {
  return b.relu(b.batchNorm(b.conv(x, { out, stride })));
}

function smallCnn(o: ZooOptions): Model {
  const b = new NetBuilder('small_cnn', o.input, o.seed);
  let x = b.maxPool(convBnRelu(b, b.input, 16));
  x = b.maxPool(convBnRelu(b, x, 32));
  x = convBnRelu(b, x, 64);
  return b.finish(b.linear(b.globalPool(x), o.classes));
}

/** The Fashion-MNIST reference VGG of the corpus (fmnist_vgg): 32,32,M,64,64,M,128,128, GAP, FC. */
function vgg(o: ZooOptions): Model {
  const b = new NetBuilder('vgg', o.input, o.seed);
  let x = b.input;
  for (const layer of [32, 32, 'M', 64, 64, 'M', 128, 128] as const) {
    x = layer === 'M' ? b.maxPool(x) : convBnRelu(b, x, layer);
  }
  return b.finish(b.linear(b.globalPool(x), o.classes));
}

/** The Fashion-MNIST reference ResNet of the corpus (fmnist_resnet): CIFAR ResNet-20, widths 16/32/64. */
function resnet(o: ZooOptions): Model {
  const b = new NetBuilder('resnet', o.input, o.seed);
  let x = convBnRelu(b, b.input, 16);
  for (const [width, firstStride] of [
    [16, 1],
    [32, 2],
    [64, 2],
  ]) {
    for (let block = 0; block < 3; block++) {
      const stride = block === 0 ? firstStride : 1;
      const inWidth = b.shape(x)[0];
      const main = b.batchNorm(b.conv(convBnRelu(b, x, width, stride), { out: width }));
      const shortcut = stride !== 1 || inWidth !== width ? b.batchNorm(b.conv(x, { out: width, kernel: 1, stride })) : x;
      x = b.relu(b.add(main, shortcut));
    }
  }
  return b.finish(b.linear(b.globalPool(x), o.classes));
}

export const ZOO: ZooEntry[] = [
  { name: 'small-cnn', description: '3 conv layers (16/32/64), BatchNorm after every conv, GAP, FC', build: smallCnn },
  { name: 'vgg', description: 'VGG-style: 6 conv layers (32-32-64-64-128-128) with BN, 2 max-pools, GAP, FC', build: vgg },
  { name: 'resnet', description: 'ResNet-20-style: 9 residual blocks (16/32/64), BN, 1x1 projection shortcuts', build: resnet },
];

export function zooEntry(name: string): ZooEntry | undefined {
  return ZOO.find((e) => e.name === name);
}
