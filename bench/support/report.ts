/** Results of bench/run.ts: ratios, targets, the printed table and BENCHMARKS.md. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { BundleReport } from './lambda-bundle.js';
import type { LagReport } from './lag.js';
import type { LargeCopyReport } from './large-copy.js';
import type { Machine } from './machine.js';
import { TOOL_LABELS, type DatasetName, type ToolName } from './tools.js';
import type { ProfileSummary } from './cpu-profile.js';

const MiB = 1024 * 1024;

export interface RunResult {
  dataset: DatasetName;
  tool: ToolName;
  objects: number;
  bytes: number;
  seconds: number;
  timing: string;
  wallSeconds: number;
  /** 10^6 bytes per second. */
  MBps: number;
  objectsPerSecond: number;
  peakRssMiB: number;
  /** CPU seconds of the tool's process. */
  cpuSeconds: number;
  /** CPU seconds of the Ceph daemons during the run. */
  daemonCpuSeconds: Record<string, number>;
  tempDiskBytes: number;
  /** RGW's request counters during the run (req = all requests, failed_req, get, put). */
  rgwRequests: Record<string, number>;
  /** What the target held afterwards. */
  verified: string;
  profiled: boolean;
  detail: Record<string, unknown>;
}

export interface Ratio {
  dataset: DatasetName;
  lyve: 'sync' | 'lambda';
  versus: string;
  ratio: number;
}

export interface Target {
  name: string;
  value: string;
  required: string;
  met: boolean | undefined;
}

export interface Results {
  date: string;
  mode: 'full' | 'quick';
  durationSeconds: number;
  machine: Machine;
  load: { before: number[]; after: number[]; duringMax: number; duringMean: number };
  datasets: { name: DatasetName; objects: number; objectSize: number; bytes: number }[];
  runs: RunResult[];
  ratios: Ratio[];
  targets: Target[];
  largeCopy?: LargeCopyReport;
  bundle?: BundleReport;
  lag?: LagReport;
  profiles?: { dataset: DatasetName; file: string; summary: ProfileSummary }[];
  /** Set when the tools reached RGW through a WAN-like link (`--link`). */
  link?: { perConnectionMiBps: number; rttMs: number };
  command: string;
}

/** The figure compared for a dataset: MB/s for large objects, objects/s for small ones. */
export function metric(run: RunResult): number {
  return run.dataset === 'small' ? run.objectsPerSecond : run.MBps;
}

/** CPU seconds of the tool and the Ceph daemons during the run. */
export function cpuTotal(run: RunResult): number {
  return run.cpuSeconds + Object.values(run.daemonCpuSeconds).reduce((a, b) => a + b, 0);
}

/**
 * Work per CPU-second of the whole copy (tool + Ceph): MB or objects per CPU-s. On a machine
 * where the server and the tool share the cores this is what bounds throughput, and it depends
 * much less than throughput on what else the machine is running.
 */
export function efficiency(run: RunResult): number {
  return (run.dataset === 'small' ? run.objects : run.bytes / 1e6) / cpuTotal(run);
}

export const metricUnit = (dataset: DatasetName) => (dataset === 'small' ? 'objects/s' : 'MB/s');

function find(runs: RunResult[], dataset: DatasetName, tool: ToolName): RunResult | undefined {
  return runs.find((r) => r.dataset === dataset && r.tool === tool);
}

/** min(raw GET, raw PUT), and the best a copy through one shared server can do: 1 / (1/GET + 1/PUT). */
export function rawBounds(runs: RunResult[], dataset: DatasetName): { min: number; serial: number } | undefined {
  const get = find(runs, dataset, 'raw-get');
  const put = find(runs, dataset, 'raw-put');
  if (!get || !put) return undefined;
  const [g, p] = [metric(get), metric(put)];
  return { min: Math.min(g, p), serial: 1 / (1 / g + 1 / p) };
}

export function computeRatios(runs: RunResult[]): Ratio[] {
  const ratios: Ratio[] = [];
  const datasets = [...new Set(runs.map((r) => r.dataset))];
  for (const dataset of datasets) {
    for (const lyve of ['sync', 'lambda'] as const) {
      const ours = find(runs, dataset, lyve);
      if (!ours) continue;
      for (const other of ['rclone-default', 'rclone-tuned', 'sample'] as const) {
        const theirs = find(runs, dataset, other);
        if (theirs) ratios.push({ dataset, lyve, versus: other, ratio: metric(ours) / metric(theirs) });
      }
      const bounds = rawBounds(runs, dataset);
      if (bounds) {
        ratios.push({ dataset, lyve, versus: 'min(raw GET, raw PUT)', ratio: metric(ours) / bounds.min });
        ratios.push({ dataset, lyve, versus: '1/(1/GET + 1/PUT)', ratio: metric(ours) / bounds.serial });
      }
    }
  }
  return ratios;
}

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '–');

export function computeTargets(runs: RunResult[], ratios: Ratio[], largeCopy: LargeCopyReport | undefined): Target[] {
  const targets: Target[] = [];
  const ratio = (dataset: DatasetName, lyve: 'sync' | 'lambda', versus: string) =>
    ratios.find((r) => r.dataset === dataset && r.lyve === lyve && r.versus === versus)?.ratio;
  const add = (name: string, value: number | undefined, min: number, required: string) =>
    targets.push({ name, value: value === undefined ? 'not measured' : `${fmt(value)}×`, required, met: value === undefined ? undefined : value >= min });
  for (const lyve of ['sync', 'lambda'] as const) {
    const who = lyve === 'sync' ? 'sync' : 'Lambda path';
    add(`large: ${who} vs rclone (default flags)`, ratio('large', lyve, 'rclone-default'), 1.5, '≥ 1.5×');
    add(`large: ${who} vs the original sample`, ratio('large', lyve, 'sample'), 2, '≥ 2×');
    add(`large: ${who} vs min(raw GET, raw PUT)`, ratio('large', lyve, 'min(raw GET, raw PUT)'), 0.8, '≥ 0.80×');
    add(`small: ${who} vs rclone (default flags), objects/s`, ratio('small', lyve, 'rclone-default'), 1.5, '≥ 1.5×');
  }
  for (const run of runs.filter((r) => r.tool === 'sync' || r.tool === 'lambda')) {
    const partSize = run.tool === 'sync' ? 16 * MiB : Number(run.detail.partSize ?? 16 * MiB);
    const concurrency = run.tool === 'sync' ? 16 : Number(run.detail.concurrency ?? 8);
    const bound = 64 + (partSize / MiB) * concurrency;
    targets.push({
      name: `peak RSS, ${run.dataset}: ${run.tool === 'sync' ? 'sync' : 'Lambda path'} (${partSize / MiB} MiB × ${concurrency})`,
      value: `${fmt(run.peakRssMiB, 0)} MiB`,
      required: `≤ ${bound} MiB`,
      met: run.peakRssMiB <= bound,
    });
  }
  if (largeCopy) {
    targets.push({
      name: `peak RSS, ${(largeCopy.bytes / 1024 ** 3).toFixed(0)} GiB object (${largeCopy.partSizeMiB} MiB × ${largeCopy.concurrency})`,
      value: `${fmt(largeCopy.peakRssMiB, 0)} MiB`,
      required: `≤ ${largeCopy.rssBoundMiB} MiB`,
      met: largeCopy.withinBound,
    });
  }
  return targets;
}

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function bytesText(bytes: number): string {
  if (bytes === 0) return '0';
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

export function resultsTable(results: Results): string {
  const rows = results.runs.map((r) => {
    const ours = results.runs.find((o) => o.dataset === r.dataset && o.tool === 'sync');
    const versus = ours && r.tool !== 'sync' ? `${fmt(metric(ours) / metric(r))}×` : '';
    const daemons = Object.values(r.daemonCpuSeconds).reduce((a, b) => a + b, 0);
    const req = r.rgwRequests.req;
    const cores = cpuTotal(r) / r.wallSeconds;
    return [
      r.dataset,
      `${TOOL_LABELS[r.tool]}${r.profiled ? ' (profiled)' : ''}${r.detail.measuredOn ? ` (first ${r.objects} objects)` : ''}`,
      fmt(r.seconds, 1),
      r.dataset === 'small' ? '' : fmt(r.MBps, 0),
      fmt(r.objectsPerSecond, r.objectsPerSecond >= 100 ? 0 : 1),
      fmt(r.peakRssMiB, 0),
      bytesText(r.tempDiskBytes),
      fmt(r.cpuSeconds, 1),
      fmt(daemons, 1),
      fmt(cores, 2),
      fmt(efficiency(r), r.dataset === 'small' ? 0 : 0),
      req === undefined || !Number.isFinite(req) ? '–' : fmt(req / r.objects, r.objects > 100 ? 1 : 0),
      versus,
    ];
  });
  return table(
    [
      'dataset',
      'tool',
      'seconds',
      'MB/s',
      'objects/s',
      'peak RSS MiB',
      'temp disk',
      'tool CPU s',
      'Ceph CPU s',
      'cores used',
      'MB (small: objects) per CPU-s',
      'RGW requests / object',
      'sync ÷ this',
    ],
    rows,
  );
}

export function ratiosTable(results: Results): string {
  const datasets = [...new Set(results.ratios.map((r) => r.dataset))];
  const rows: string[][] = [];
  for (const dataset of datasets) {
    for (const lyve of ['sync', 'lambda'] as const) {
      const rs = results.ratios.filter((r) => r.dataset === dataset && r.lyve === lyve);
      if (rs.length === 0) continue;
      const get = (v: string) => {
        const r = rs.find((x) => x.versus === v);
        return r ? `${fmt(r.ratio)}×` : '–';
      };
      rows.push([
        dataset,
        lyve === 'sync' ? 'sync' : 'Lambda path',
        get('rclone-default'),
        get('rclone-tuned'),
        get('sample'),
        get('min(raw GET, raw PUT)'),
        get('1/(1/GET + 1/PUT)'),
      ]);
    }
  }
  return table(['dataset', 'lyve-replicator', '÷ rclone default', '÷ rclone tuned', '÷ original sample', '÷ min(raw GET, raw PUT)', '÷ 1/(1/GET+1/PUT)'], rows);
}

/** lyve-replicator ÷ other in work per CPU-second (tool + Ceph): the contention-independent view. */
export function efficiencyTable(results: Results): string {
  const datasets = [...new Set(results.runs.map((r) => r.dataset))];
  const rows: string[][] = [];
  for (const dataset of datasets) {
    for (const lyve of ['sync', 'lambda'] as const) {
      const ours = results.runs.find((r) => r.dataset === dataset && r.tool === lyve);
      if (!ours) continue;
      const versus = (tool: ToolName) => {
        const other = results.runs.find((r) => r.dataset === dataset && r.tool === tool);
        return other ? `${fmt(efficiency(ours) / efficiency(other))}×` : '–';
      };
      rows.push([dataset, lyve === 'sync' ? 'sync' : 'Lambda path', fmt(efficiency(ours), 0), versus('rclone-default'), versus('rclone-tuned'), versus('sample')]);
    }
  }
  return table(['dataset', 'lyve-replicator', 'per CPU-s', '÷ rclone default', '÷ rclone tuned', '÷ original sample'], rows);
}

export function targetsTable(results: Results): string {
  return table(
    ['target', 'measured', 'required', ''],
    results.targets.map((t) => [t.name, t.value, t.required, t.met === undefined ? 'not measured' : t.met ? 'met' : '**missed**']),
  );
}

export function extrasText(results: Results): string {
  const lines: string[] = [];
  const c = results.largeCopy;
  if (c) {
    lines.push(
      `- **${(c.bytes / 1024 ** 3).toFixed(0)} GiB object** (engine in a child process, ${c.partSizeMiB} MiB parts × ${c.concurrency}): ` +
        `${c.seconds} s, ${c.throughputMiBps} MiB/s, peak RSS ${c.peakRssMiB} MiB against the bound ${c.rssBoundMiB} MiB ` +
        `(64 MiB + ${c.partSizeMiB} MiB × ${c.concurrency}): **${c.withinBound ? 'met' : 'missed'}**; fixed overhead (peak − part buffers) ` +
        `${c.fixedOverheadMiB} MiB; ${c.verified}. Component peaks (MiB): ${Object.entries(c.memoryPeaksMiB).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    );
  }
  const b = results.bundle;
  if (b) {
    lines.push(
      `- **Lambda bundle** \`${b.file}\`: ${(b.bytes / 1024).toFixed(0)} KiB, ${(b.gzipBytes / 1024).toFixed(0)} KiB gzipped (level 9). ` +
        `Cold init (median of ${b.runs}, spawn → handler ready): **${b.coldInitMs} ms** = node start ${b.processStartMs} ms + import and configure ${b.importMs} ms.`,
    );
  }
  const l = results.lag;
  if (l) {
    lines.push(
      `- **Replication lag** (PUT completed → replica complete, onOutcome), ${l.events} objects of ${l.objectSize} B at ${l.ratePerSecond}/s ` +
        `through the ${l.pipeline}: p50 **${l.p50Ms} ms**, p90 ${l.p90Ms} ms, p99 **${l.p99Ms} ms**, max ${l.maxMs} ms (${l.replicated}/${l.events} replicated).`,
    );
  }
  return lines.join('\n');
}

export function consoleReport(results: Results): string {
  return [
    resultsTable(results),
    '',
    ratiosTable(results),
    '',
    efficiencyTable(results),
    '',
    targetsTable(results),
    '',
    extrasText(results),
  ].join('\n');
}

/** The generated sections of BENCHMARKS.md: the loopback run, and the run through a WAN-like link. */
function markers(results: Results): { begin: string; end: string } {
  const name = results.link ? 'link' : 'results';
  return {
    begin: `<!-- bench:${name}:begin (generated by npm run bench${results.link ? ' -- --link' : ''}; edit outside these markers) -->`,
    end: `<!-- bench:${name}:end -->`,
  };
}

function generated(results: Results, jsonFile: string): string {
  const { begin: BEGIN, end: END } = markers(results);
  const link = results.link;
  const extras = extrasText(results).trim();
  const m = results.machine;
  const ds = results.datasets
    .map((d) => `${d.name} ${d.objects} × ${bytesText(d.objectSize)}`)
    .join(', ');
  return [
    BEGIN,
    link
      ? `## Latest run through a WAN-like link: ${results.date} (${link.perConnectionMiBps} MiB/s per connection each way, ${link.rttMs} ms round trip)`
      : `## Latest run: ${results.date} (${results.mode}${results.mode === 'quick' ? ', reduced datasets' : ''})`,
    '',
    `Machine: ${m.cpus} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}, ${m.ceph}, ${m.rclone}, ` +
      `Python ${m.python} with ${m.boto3}. Load average (1/5/15 min) before ${results.load.before.join(' / ')}, after ${results.load.after.join(' / ')}; ` +
      `1-min load during the run: mean ${results.load.duringMean}, max ${results.load.duringMax} (the benchmark itself adds ~2). ` +
      `Run took ${(results.durationSeconds / 60).toFixed(1)} min. Datasets: ${ds}. Raw data: \`${jsonFile}\`.`,
    ...(link
      ? [
          '',
          `Every tool, the raw limits included, reached RGW through \`bench/support/link-proxy.ts\`: each TCP connection carries at most ${link.perConnectionMiBps} MiB/s each way ` +
            `and every byte arrives ${link.rttMs / 2} ms after it left. The proxy runs inside the benchmark's own process, so its CPU is counted in neither CPU column.`,
        ]
      : []),
    '',
    '### Throughput, memory, disk',
    '',
    resultsTable(results),
    '',
    '### Ratios (lyve-replicator ÷ other, from the same run)',
    '',
    ratiosTable(results),
    '',
    '### Work per CPU-second (tool + Ceph), lyve-replicator ÷ other',
    '',
    'Throughput divided by the CPU the copy used (the tool plus the Ceph daemons): MB per CPU-second (small: objects). ' +
      'On 2 shared cores this is what bounds throughput, and it depends much less than throughput on what else the machine runs.',
    '',
    efficiencyTable(results),
    '',
    '### Targets',
    '',
    targetsTable(results),
    '',
    ...(extras ? ['### Large object, Lambda bundle, lag', '', extras, ''] : []),
    END,
  ].join('\n');
}

const DEFAULT_HEAD = `# Benchmarks

Measured by \`npm run bench\` (\`bench/run.ts\`): everything in one run on one machine, against a
local single-node Ceph RGW with separate source and target users.
`;

/** Writes the generated section into BENCHMARKS.md, keeping what is written outside the markers. */
export function writeBenchmarksMd(file: string, results: Results, jsonFile: string): void {
  const section = generated(results, jsonFile);
  const { begin: BEGIN, end: END } = markers(results);
  const current = existsSync(file) ? readFileSync(file, 'utf8') : `${DEFAULT_HEAD}\n`;
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  const next =
    start >= 0 && end > start ? current.slice(0, start) + section + current.slice(end + END.length) : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
}
