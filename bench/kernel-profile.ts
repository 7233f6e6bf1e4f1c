import * as tf from '@tensorflow/tfjs';

/*
 * Where a training step's time goes on the current tfjs backend: every kernel the backend runs,
 * timed around its kernel function, and the copies between JS and the backend's memory (tensor
 * uploads, reads back). Times are exclusive: a kernel that runs other kernels (otoc's depthwise
 * gradients are built of tfjs ops) or copies is charged only for the rest of its time.
 */

export interface ProfileEntry {
  /** Milliseconds in all, and calls. */
  ms: number;
  calls: number;
}

export class KernelProfile {
  /** Per kernel name, and per copy ('copy: write', 'copy: readSync', …). */
  readonly entries = new Map<string, ProfileEntry>();
  private readonly restore: (() => void)[] = [];
  /** Per open timed call, the time its nested calls took. */
  private readonly nested: number[] = [];

  /** Starts timing every kernel of the current backend and its copies, until `stop`. */
  static start(): KernelProfile {
    const profile = new KernelProfile();
    const backendName = tf.getBackend();
    for (const config of tf.getKernelsForBackend(backendName)) {
      const kernelFunc = config.kernelFunc;
      tf.unregisterKernel(config.kernelName, backendName);
      tf.registerKernel({ ...config, kernelFunc: (args) => profile.time(config.kernelName, () => kernelFunc(args)) });
      profile.restore.push(() => {
        tf.unregisterKernel(config.kernelName, backendName);
        tf.registerKernel(config);
      });
    }
    const backend = tf.backend() as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const method of ['write', 'readSync', 'read', 'move']) {
      const original = backend[method];
      if (typeof original !== 'function') continue;
      backend[method] = (...args: unknown[]) => profile.time(`copy: ${method}`, () => original.apply(backend, args));
      profile.restore.push(() => {
        backend[method] = original;
      });
    }
    return profile;
  }

  /** Puts the backend's own kernel functions and methods back. */
  stop(): void {
    for (const undo of this.restore.splice(0).reverse()) undo();
  }

  /** Forgets what was measured so far (the warm-up steps). */
  clear(): void {
    this.entries.clear();
  }

  private time<T>(name: string, run: () => T): T {
    const start = performance.now();
    this.nested.push(0);
    try {
      return run();
    } finally {
      const total = performance.now() - start;
      const inner = this.nested.pop()!;
      if (this.nested.length) this.nested[this.nested.length - 1] += total;
      const entry = this.entries.get(name) ?? { ms: 0, calls: 0 };
      entry.ms += total - inner;
      entry.calls++;
      this.entries.set(name, entry);
    }
  }
}
