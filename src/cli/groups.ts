import { attributedTo } from '../errors.js';
import type { CommandBody } from './command.js';
import { writeFileAtomically } from '../io/atomic.js';
import { validateJson } from '../io/json-schema.js';
import { analyzeModel } from '../pipeline/analyze.js';
import { groupsDot } from '../groups-report/dot.js';
import { groupsReport, type GroupsReport } from '../groups-report/report.js';
import { accountPerSample } from '../../passes/accounting.js';
import { symbolicInputs, symbolicNote } from '../ir/input-shapes.js';
import { loadDenseModel } from './load-model.js';
import { SHAPE_OPTION, shapeOverrides } from './shape-option.js';

interface GroupsArgs {
  model: string;
  json?: boolean;
  dot?: string;
  shape?: string[];
}

export const groupsCommand: CommandBody<GroupsArgs> = {
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'ONNX model file' })
      .option('json', { type: 'boolean', describe: 'Print the report as JSON (schemas/groups.schema.json)' })
      .option('dot', { type: 'string', describe: 'Also write a Graphviz drawing coloured by group set' })
      .option('shape', SHAPE_OPTION)
      .example('$0 groups model.onnx', 'Table of group sets')
      .example('$0 groups model.onnx --dot groups.dot && dot -Tsvg groups.dot > groups.svg', 'See why a layer is not prunable'),
  handler: (args) => {
    const loaded = loadDenseModel(args.model, 'otoc groups');
    const shapes = shapeOverrides(loaded, args.shape);
    const symbolic = symbolicInputs(loaded, shapes);
    const { groups, report } = attributedTo(args.model, () => {
      const { model, groups } = analyzeModel(loaded);
      const symbolicPart = symbolic.length ? { symbolicInputs: symbolic } : {};
      return { groups, report: { ...groupsReport(args.model, groups, accountPerSample(model, shapes)), ...symbolicPart } };
    });
    if (args.dot) writeFileAtomically(args.dot, groupsDot(groups, report));
    if (args.json) {
      validateJson('groups.schema.json', report);
      console.log(JSON.stringify(report, null, 2));
    } else {
      console.log(formatGroupsReport(report));
    }
  },
};

export function formatGroupsReport(r: GroupsReport): string {
  const lines = [`${r.model}: ${r.totals.groupSets} group sets`, ''];
  const header = ['set', 'channels', 'prunable', 'params', 'stems', 'why not prunable'];
  const rows = r.groupSets.map((s) => [
    String(s.id),
    String(s.channels),
    String(s.prunableChannels),
    String(s.parameters),
    abbreviate(s.stems),
    s.reasons.map((x) => `${x.reason}${x.channels < s.channels ? ` (${x.channels} ch)` : ''}`).join('; '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (i < 5 ? row[i].length : 0))));
  const fmt = (row: string[]) => row.map((c, i) => (i < 5 ? c.padEnd(widths[i]) : c)).join('  ').trimEnd();
  lines.push(fmt(header), ...rows.map(fmt), '');
  const t = r.totals;
  lines.push(`prunable channels: ${t.prunableChannels} of ${t.channels}`);
  lines.push(`prunable parameters: ${t.prunableParameters} of ${t.parameters} (${(100 * t.prunableShare).toFixed(1)}%)`);
  lines.push(`MACs: ${t.macs.toLocaleString('en-US')}`);
  const note = symbolicNote(r.symbolicInputs ?? []);
  if (note) lines.push(note);
  return lines.join('\n');
}

function abbreviate(names: string[]): string {
  if (names.length <= 2) return names.join(', ');
  return `${names.slice(0, 2).join(', ')} +${names.length - 2}`;
}
