import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readModel } from '../src/onnx/read.js';
import { writeModel } from '../src/onnx/write.js';
import { corpusModel } from '../src/paths.js';
import { Benchmark, ReportRow, median } from './harness.js';

const MODEL = 'vgg16_bn_cifar';
const REPEATS = 9;
const RSS_REPEATS = 3;
const TIME_TARGET = 3;
const RSS_TARGET = 3;

/** The timed variants; otoc's time is also split into its parse and write halves. */
type Variant = 'plainSync' | 'plainAsync' | 'otoc';
type Times = Record<Variant | 'otocParse' | 'otocWrite', number[]>;
/** Child-process modes of parse-write-once.ts. */
type RssMode = 'empty' | 'imports' | 'plain' | 'otoc';

/**
 * Parse + write of the largest corpus model, against a plain copy of the same bytes: time
 * (in this process, repeats alternating) and peak RSS (each in a fresh child process).
 */
export const parseWrite: Benchmark = {
  name: 'parse-write',
  description: `readModel + writeModel of the corpus ${MODEL} vs a plain read + write of its bytes`,
  async run() {
    const input = corpusModel(MODEL);
    const dir = mkdtempSync(join(tmpdir(), 'otoc-bench-'));
    try {
      const times = await measureTimes(input, join(dir, 'out.onnx'));
      const rss = measurePeakRss(input, join(dir, 'out.onnx'));
      return report(statSync(input).size, times, rss);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

async function measureTimes(input: string, output: string): Promise<Times> {
  const times: Times = { plainSync: [], plainAsync: [], otoc: [], otocParse: [], otocWrite: [] };
  const variants: Record<Variant, () => Promise<void>> = {
    plainSync: async () => writeFileSync(output, readFileSync(input)),
    plainAsync: async () => writeFile(output, await readFile(input)),
    otoc: async () => {
      const start = performance.now();
      const model = readModel(input);
      times.otocParse.push(performance.now() - start);
      const parsed = performance.now();
      writeModel(model, output);
      times.otocWrite.push(performance.now() - parsed);
    },
  };
  const names = Object.keys(variants) as Variant[];
  for (const name of names) await variants[name](); // warm-up: page cache, JIT
  for (const list of Object.values(times)) list.length = 0;
  for (let i = 0; i < REPEATS; i++) {
    // Alternate the order so that no variant always runs right after the same other one.
    for (const name of i % 2 ? [...names].reverse() : names) {
      globalThis.gc?.();
      const start = performance.now();
      await variants[name]();
      times[name].push(performance.now() - start);
    }
  }
  return times;
}

function measurePeakRss(input: string, output: string): Record<RssMode, number> {
  const script = fileURLToPath(new URL('./parse-write-once.js', import.meta.url));
  const once = (mode: RssMode) => {
    const child = spawnSync(process.execPath, [script, mode, input, output], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`parse-write-once ${mode} failed: ${child.stderr}`);
    return (JSON.parse(child.stdout) as { maxRssBytes: number }).maxRssBytes;
  };
  const peak = (mode: RssMode) => median(Array.from({ length: RSS_REPEATS }, () => once(mode)));
  return { empty: peak('empty'), imports: peak('imports'), plain: peak('plain'), otoc: peak('otoc') };
}

function report(fileBytes: number, times: Times, rss: Record<RssMode, number>) {
  const ms = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) as Record<keyof Times, number>;
  const timeRatio = ms.otoc / ms.plainSync;
  const rssMultiple = rss.otoc / fileBytes;
  const rssAboveEmptyNode = (rss.otoc - rss.empty) / fileBytes;
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  const msText = (v: number) => `${v.toFixed(1)} ms`;
  const ratio = (v: number) => `${v.toFixed(2)}×`;
  const rows: ReportRow[] = [
    { metric: `file (${MODEL})`, value: mib(fileBytes) },
    { metric: 'plain readFileSync + writeFileSync', value: msText(ms.plainSync) },
    { metric: 'plain fs.promises readFile + writeFile', value: msText(ms.plainAsync) },
    { metric: 'otoc readModel + writeModel', value: msText(ms.otoc) },
    { metric: '  of which readModel', value: msText(ms.otocParse) },
    { metric: '  of which writeModel', value: msText(ms.otocWrite) },
    { metric: 'time, otoc / plain sync copy', value: ratio(timeRatio), target: `≤ ${TIME_TARGET}×`, met: timeRatio <= TIME_TARGET },
    { metric: 'time, otoc / plain async copy', value: ratio(ms.otoc / ms.plainAsync) },
    { metric: 'peak RSS, empty node process', value: mib(rss.empty) },
    { metric: "peak RSS, node + otoc's reader/writer loaded", value: mib(rss.imports) },
    { metric: 'peak RSS, plain copy', value: mib(rss.plain) },
    { metric: 'peak RSS, otoc parse + write', value: mib(rss.otoc) },
    { metric: 'peak RSS / file size', value: ratio(rssMultiple), target: `≤ ${RSS_TARGET}×`, met: rssMultiple <= RSS_TARGET },
    { metric: 'peak RSS above empty node / file size', value: ratio(rssAboveEmptyNode) },
  ];
  const results = {
    model: MODEL,
    fileBytes,
    repeats: REPEATS,
    medianMs: ms,
    timesMs: times,
    timeRatio: { vsPlainSync: timeRatio, vsPlainAsync: ms.otoc / ms.plainAsync, target: TIME_TARGET },
    peakRssBytes: rss,
    peakRssOfFileSize: { total: rssMultiple, aboveEmptyNode: rssAboveEmptyNode, target: RSS_TARGET },
  };
  return { rows, results };
}
