/** What the ZIG analysis finds on specific corpus features, and the groups/prune commands end to end. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readModel } from '../src/onnx/read.js';
import { encodeModel } from '../src/onnx/write.js';
import { analyzeModel, type AnalyzedModel } from '../src/pipeline/analyze.js';
import { applyPruning, planPruning } from '../passes/prune-groups.js';
import { validateJson } from '../src/io/json-schema.js';
import { compareOutputs } from '../src/runtime/compare-outputs.js';
import { createSession, readTestFeeds, runSession } from '../src/runtime/ort.js';
import { Rng } from '../src/util/random.js';
import type { GroupSet } from '../passes/analyze-groups.js';
import { ensureBuilt, otoc } from './cli.js';
import { corpusModel, corpusTestSet } from './paths.js';

const analyze = (name: string): AnalyzedModel => analyzeModel(readModel(corpusModel(name)));
const stemNames = (s: GroupSet) => s.stems.map((n) => n.name);
const channels = (s: GroupSet) => s.zigs.filter((z) => z.hasStem).length;

describe('ZIG analysis on corpus features', () => {
  it('makes attention heads the unit: Q, K and V of one head form one group', () => {
    const { groups } = analyze('transformer_block');
    const heads = groups.groupSets.filter((s) => stemNames(s).some((n) => n.endsWith('att/q/MatMul')));
    expect(heads).toHaveLength(2);
    for (const set of heads) {
      expect(channels(set)).toBe(4);
      expect(set.zigs.every((z) => !z.hasStem || z.prunable)).toBe(true);
      expect(stemNames(set).map((n) => n.split('/').at(-2))).toEqual(['q', 'k', 'v']);
      // Each head holds 16 columns of each of W_q, W_k, W_v as its stem slices.
      for (const z of set.zigs.filter((z) => z.hasStem)) expect(z.slices.filter((s) => s.kind === 'stem')).toHaveLength(48);
    }
  });

  it('keeps the residual width of a transformer and the classes of every model', () => {
    const { groups } = analyze('transformer_block');
    const residual = groups.groupSets.find((s) => stemNames(s).some((n) => n.endsWith('att/o/MatMul')))!;
    expect(residual.zigs.some((z) => z.prunable)).toBe(false);
    expect(residual.zigs[0].reasons.join()).toContain("'input'");
    const head = groups.groupSets.find((s) => stemNames(s).includes('/head/Gemm'))!;
    expect(head.zigs.every((z) => z.reasons.some((r) => r.startsWith('reaches graph output')))).toBe(true);
  });

  it('ties local indices across the blocks of a grouped conv and groups a depthwise conv with its input', () => {
    const { groups, model } = analyze('groupconv');
    const grouped = model.graph.nodes.find((n) => n.opType === 'Conv' && n.attributes.get('group')?.value === 4n)!;
    const set = groups.groupSets.find((s) => s.stems.includes(grouped))!;
    const outChannels = grouped.inputs[1]!.constant!.dims[0];
    const stemZigs = set.zigs.filter((z) => z.slices.some((s) => s.node === grouped && s.kind === 'stem'));
    expect(stemZigs).toHaveLength(outChannels / 4);
  });

  it('ties the spaces of a shared weight', () => {
    const { groups, model } = analyze('weightshare');
    const shared = model.graph.initializers.find((v) => v.consumers.length > 1 && v.constant!.dims.length === 4)!;
    const users = shared.consumers;
    const set = groups.groupSets.find((s) => s.stems.includes(users[0]))!;
    expect(users.every((n) => set.stems.includes(n))).toBe(true);
  });

  it('puts a BatchNorm after a Concat into the groups of the concatenated inputs (auxiliary slices)', () => {
    const { groups, model } = analyze('concat_case');
    const bn = model.graph.nodes.find((n) => n.opType === 'BatchNormalization')!;
    const scale = bn.inputs[1]!;
    const owners = groups.zigs.filter((z) => z.slices.some((s) => s.param === scale && s.kind === 'param'));
    expect(owners).toHaveLength(scale.constant!.dims[0]);
    expect(owners.every((z) => z.hasStem)).toBe(true);
  });

  it('reports 0 prunable channels with reasons where a LayerNorm guards every width', () => {
    const { groups } = analyze('linear_mlp');
    expect(groups.zigs.filter((z) => z.prunable)).toHaveLength(0);
    expect(groups.zigs.filter((z) => z.hasStem).every((z) => z.reasons.length > 0)).toBe(true);
    expect(groups.zigs.flatMap((z) => z.reasons).join()).toContain('reduces over the channel axis');
  });

  it('prunes LSTM hidden units', () => {
    const { groups } = analyze('lstm_small');
    const lstm = groups.groupSets.find((s) => s.stems.some((n) => n.opType === 'LSTM'))!;
    expect(lstm.zigs.filter((z) => z.prunable)).toHaveLength(32);
  });
});

describe('pruning groups that are not zero', () => {
  it('changes the outputs (the equivalence check can fail)', async () => {
    const model = readModel(corpusModel('fmnist_vgg'));
    const full = encodeModel(model).model;
    const { groups, facts } = analyzeModel(model);
    const prunable = groups.zigs.filter((z) => z.prunable).map((z) => z.id);
    applyPruning(model, facts, planPruning(groups, new Rng(1).shuffle(prunable).slice(0, 20)));
    const [a, b] = [await createSession(full), await createSession(encodeModel(model).model)];
    const feeds = readTestFeeds(corpusTestSet('fmnist_vgg'), a.inputNames);
    const c = compareOutputs((await runSession(a, feeds))[0], (await runSession(b, feeds))[0], { atol: 1e-4, rtol: 1e-4 });
    expect(c.pass).toBe(false);
  });

  it('refuses a group that is not prunable', () => {
    const { groups } = analyze('transformer_block');
    const pinned = groups.zigs.find((z) => z.hasStem && !z.prunable)!;
    expect(() => planPruning(groups, [pinned.id])).toThrow(/not prunable/);
  });
});

describe('otoc groups and otoc prune', () => {
  const dir = mkdtempSync(join(tmpdir(), 'otoc-groups-'));
  beforeAll(ensureBuilt);

  it('groups --json follows the schema and --dot draws the graph', () => {
    const dot = join(dir, 'groups.dot');
    const run = otoc('groups', corpusModel('concat_case'), '--json', '--dot', dot);
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout);
    validateJson('groups.schema.json', report);
    expect(report.totals.prunableChannels).toBeGreaterThan(0);
    expect(readFileSync(dot, 'utf8')).toMatch(/^digraph groups \{/);
  });

  it('groups prints a table with totals', () => {
    const run = otoc('groups', corpusModel('transformer_block'));
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/prunable channels: 264 of 530/);
  });

  it('prune removes groups that are exactly zero, and verify proves the result', () => {
    const full = join(dir, 'full.onnx');
    const small = join(dir, 'small.onnx');
    const sanity = otoc('prune', corpusModel('fmnist_resnet'), '--random-zero', '0.5', '--seed', '2', '--emit-full', full, '-o', join(dir, 'unused.onnx'), '--json');
    expect(sanity.status).toBe(0);
    const zeroed = JSON.parse(sanity.stdout).removedGroups;
    expect(zeroed).toBeGreaterThan(0);
    // The emitted full model has those groups at zero: plain prune finds exactly them.
    const run = otoc('prune', full, '-o', small, '--json');
    expect(run.status).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.removedGroups).toBe(zeroed);
    expect(summary.parameters.after).toBeLessThan(summary.parameters.before);
    expect(otoc('verify', full, small, '--random', '4', '--seed', '3').status).toBe(0);
  });

  it('prune says so when no group is zero', () => {
    const run = otoc('prune', corpusModel('fmnist_vgg'), '-o', join(dir, 'same.onnx'));
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/no group is exactly zero/);
  });
});
