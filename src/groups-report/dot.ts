import type { Node } from '../ir/graph.js';
import type { GroupAnalysis } from '../../passes/analyze-groups.js';
import type { GroupsReport } from './report.js';

const PALETTE = ['#8dd3c7', '#ffffb3', '#bebada', '#80b1d3', '#fdb462', '#b3de69', '#fccde5', '#bc80bd', '#ccebc5', '#ffed6f'];

/**
 * Graphviz drawing of the graph: each node filled with the colour of the group set its output
 * channels belong to; nodes of sets that cannot be pruned get a red dashed border and their
 * reason in the tooltip and label, so a user can see why a layer stays.
 */
export function groupsDot(analysis: GroupAnalysis, report: GroupsReport): string {
  const setOfValue = new Map<string, number>();
  report.groupSets.forEach((s) => s.values.forEach((v) => setOfValue.set(v, s.id)));
  const ids = new Map<Node, string>();
  const graph = analysis.model.graph;
  graph.nodes.forEach((n, i) => ids.set(n, `n${i}`));
  const lines = ['digraph groups {', '  rankdir=TB;', '  node [shape=box, style="rounded,filled", fontname="Helvetica", fillcolor="#eeeeee"];'];
  for (const n of graph.nodes) {
    const out = n.outputs.find((v) => v && setOfValue.has(v.name));
    const setId = out ? setOfValue.get(out.name) : undefined;
    const set = setId === undefined ? undefined : report.groupSets[setId];
    const attrs: string[] = [`label=${quote(`${n.opType}${n.name ? `\n${n.name}` : ''}${set ? `\nset ${set.id}: ${set.prunableChannels}/${set.channels} prunable` : ''}`)}`];
    if (set) {
      attrs.push(`fillcolor=${quote(PALETTE[set.id % PALETTE.length])}`);
      if (!set.prunable) {
        attrs.push('color="#d62728"', 'penwidth=2', 'style="rounded,filled,dashed"');
        attrs.push(`tooltip=${quote(set.reasons.map((r) => r.reason).join('\n'))}`);
      }
    }
    lines.push(`  ${ids.get(n)} [${attrs.join(', ')}];`);
  }
  for (const n of graph.nodes) {
    for (const v of n.inputs) {
      const from = v?.producer && ids.get(v.producer);
      if (from) lines.push(`  ${from} -> ${ids.get(n)};`);
    }
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}
