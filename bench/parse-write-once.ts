/**
 * One step of the parse-write benchmark in a fresh process, so that its peak RSS is that
 * step's alone. Prints `{"maxRssBytes": n}`.
 *
 *   node dist/bench/parse-write-once.js empty|imports|plain|otoc [input output]
 *
 * empty: nothing (node's own baseline); imports: load otoc's reader and writer;
 * plain: read the file and write its bytes; otoc: parse the file and write the model.
 * Modules are imported only where a mode needs them, so each mode pays only for its own.
 */
export {};

const [mode, input, output] = process.argv.slice(2);
switch (mode) {
  case 'empty':
    break;
  case 'imports':
    await import('../src/onnx/read.js');
    await import('../src/onnx/write.js');
    break;
  case 'plain': {
    const { readFileSync, writeFileSync } = await import('node:fs');
    writeFileSync(output, readFileSync(input));
    break;
  }
  case 'otoc': {
    const { readModel } = await import('../src/onnx/read.js');
    const { writeModel } = await import('../src/onnx/write.js');
    writeModel(readModel(input), output);
    break;
  }
  default:
    throw new Error(`unknown mode '${mode}': expected empty, imports, plain or otoc`);
}
console.log(JSON.stringify({ maxRssBytes: await peakRssBytes() }));

/**
 * Peak RSS of this process. On Linux, resourceUsage().maxRSS also counts the parent's memory
 * before exec (the kernel carries the high-water mark across fork and exec), so it reads
 * VmHWM, the peak of this process's own address space, instead.
 */
async function peakRssBytes(): Promise<number> {
  const { readFileSync } = await import('node:fs');
  try {
    const kib = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kib) return Number(kib) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}
