import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { corpusModel, PACKAGE_ROOT } from '../src/paths.js';
import { Benchmark, BenchmarkSetupError, ReportRow, median } from './harness.js';

/**
 * The last revision of main whose every command loaded tfjs at start-up (before the op table left
 * its tfjs rules to the mirror and the CLI loaded its commands lazily). STARTUP_REFERENCE overrides it.
 */
const DEFAULT_REFERENCE = '1ae821e';
const ROUNDS = 10;
const SMALL = 'fmnist_resnet';
const LARGE = 'densenet121';

interface Command {
  name: string;
  args: (out: string) => string[];
}

/** The commands that do not train, on a small model, and `groups` on the example. */
const COMMANDS: Command[] = [
  { name: 'otoc --help', args: () => ['--help'] },
  { name: `otoc inspect ${SMALL}`, args: () => ['inspect', corpusModel(SMALL)] },
  { name: `otoc groups ${SMALL}`, args: () => ['groups', corpusModel(SMALL)] },
  { name: `otoc prune ${SMALL}`, args: (out) => ['prune', corpusModel(SMALL), '-o', join(out, 'pruned.onnx')] },
  { name: `otoc verify ${SMALL} ${SMALL}`, args: () => ['verify', corpusModel(SMALL), corpusModel(SMALL), '--random', '1'] },
  { name: `otoc ${SMALL} -o small.onnx`, args: (out) => [corpusModel(SMALL), '-o', join(out, 'small.onnx')] },
  { name: `otoc groups ${LARGE}`, args: () => ['groups', corpusModel(LARGE)] },
];

/** Writes the process's peak resident set (kB) to fd 3 as it exits: loaded with --import into each run. */
const PEAK_RSS_HOOK = `data:text/javascript,${encodeURIComponent(
  'import { writeSync } from "node:fs"; process.on("exit", () => writeSync(3, String(process.resourceUsage().maxRSS)));',
)}`;

interface Sample {
  ms: number;
  rssKiB: number;
}

type Version = 'reference' | 'current';

/**
 * Wall time and peak memory of the commands that do not train, as processes, against the same
 * commands of a reference revision built beside this tree: the two run alternately, command by
 * command, so that both see the same load of a shared machine.
 */
export const startup: Benchmark = {
  name: 'startup',
  description: `the commands that do not train as processes: wall time and peak RSS against revision ${process.env.STARTUP_REFERENCE ?? DEFAULT_REFERENCE} (every command loaded tfjs), alternately`,
  async run() {
    const revision = process.env.STARTUP_REFERENCE ?? DEFAULT_REFERENCE;
    const bins: Record<Version, string> = { reference: join(buildRevision(revision), 'bin/otoc.js'), current: join(PACKAGE_ROOT, 'bin/otoc.js') };
    const out = mkdtempSync(join(tmpdir(), 'otoc-startup-'));
    try {
      const samples = new Map<string, Record<Version, Sample[]>>();
      // An empty node process, once beside every pair of runs: what any command pays before otoc loads.
      const emptyNode: Sample[] = [];
      for (const command of COMMANDS) {
        const args = command.args(out);
        const runs: Record<Version, Sample[]> = { reference: [], current: [] };
        for (const version of ['reference', 'current'] as const) runOnce(bins[version], args); // warm-up: page cache
        for (let round = 0; round < ROUNDS; round++) {
          // Alternate which goes first, so that neither always follows the other.
          for (const version of round % 2 ? (['current', 'reference'] as const) : (['reference', 'current'] as const)) {
            runs[version].push(runOnce(bins[version], args));
          }
          emptyNode.push(runOnce('-e', ['']));
        }
        samples.set(command.name, runs);
        process.stdout.write(`  ${command.name}: done\n`);
      }
      return report(revision, samples, emptyNode);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
};

/** One run of `node <script> <args>`; a failing run fails the benchmark. */
function runOnce(script: string, args: string[]): Sample {
  const start = performance.now();
  const child = spawnSync(process.execPath, ['--import', PEAK_RSS_HOOK, script, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  const ms = performance.now() - start;
  if (child.status !== 0) throw new Error(`node ${script} ${args.join(' ')} failed (${child.status}): ${child.stderr}`);
  return { ms, rssKiB: Number(child.output[3]) };
}

/** The reference revision, exported and compiled into a folder of its own (kept for the next run). */
function buildRevision(revision: string): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: PACKAGE_ROOT, encoding: 'utf8' }).trim();
  let commit: string;
  try {
    commit = git('rev-parse', '--verify', `${revision}^{commit}`);
  } catch {
    throw new BenchmarkSetupError(`STARTUP_REFERENCE: '${revision}' is not a commit of this repository`);
  }
  const dir = join(tmpdir(), `otoc-startup-${commit.slice(0, 12)}`);
  if (existsSync(join(dir, 'dist/src/cli/main.js'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  execFileSync('bash', ['-c', `git archive ${commit} | tar -x -C '${dir}'`], { cwd: PACKAGE_ROOT });
  symlinkSync(join(PACKAGE_ROOT, 'node_modules'), join(dir, 'node_modules'));
  process.stdout.write(`  building ${revision} (${commit.slice(0, 12)}) in ${dir}\n`);
  execFileSync(process.execPath, [join(PACKAGE_ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { stdio: 'inherit' });
  return dir;
}

function report(revision: string, samples: Map<string, Record<Version, Sample[]>>, emptyNode: Sample[]) {
  const empty = { medianMs: median(emptyNode.map((s) => s.ms)), medianPeakRssMiB: median(emptyNode.map((s) => s.rssKiB)) / 1024 };
  const rows: ReportRow[] = [
    { metric: 'empty node process: time', value: `${empty.medianMs.toFixed(0)} ms` },
    { metric: 'empty node process: peak RSS', value: `${empty.medianPeakRssMiB.toFixed(0)} MiB` },
  ];
  const commands: Record<string, unknown> = {};
  for (const [name, runs] of samples) {
    const ms = (v: Version) => median(runs[v].map((s) => s.ms));
    const mib = (v: Version) => median(runs[v].map((s) => s.rssKiB)) / 1024;
    const time = { reference: ms('reference'), current: ms('current') };
    const rss = { reference: mib('reference'), current: mib('current') };
    rows.push(
      { metric: `${name}: time`, value: `${time.current.toFixed(0)} ms vs ${time.reference.toFixed(0)} ms: ${(time.current / time.reference).toFixed(2)}×` },
      { metric: `${name}: peak RSS`, value: `${rss.current.toFixed(0)} MiB vs ${rss.reference.toFixed(0)} MiB: ${(rss.current / rss.reference).toFixed(2)}×` },
    );
    commands[name] = {
      medianMs: time,
      timeRatio: time.current / time.reference,
      medianPeakRssMiB: rss,
      peakRssRatio: rss.current / rss.reference,
      samples: runs,
    };
  }
  return { rows, results: { reference: revision, rounds: ROUNDS, emptyNode: { ...empty, samples: emptyNode }, commands } };
}
