/**
 * Summarizes a V8 .cpuprofile (node --cpu-prof): self time by function and by area (idle, GC,
 * our code, the AWS SDK, Node's HTTP stack, crypto, ...).
 *
 *   npx tsx bench/support/cpu-profile.ts [--callers] FILE.cpuprofile...
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Share of the profile's wall time with JavaScript or native work on the main thread. */
  busyPercent: number;
  areas: { area: string; ms: number; percent: number }[];
  functions: { name: string; area: string; ms: number; percent: number }[];
}

function area(url: string, name: string): string {
  if (name === '(idle)') return 'idle (waiting for I/O)';
  if (name === '(garbage collector)') return 'garbage collector';
  if (name === '(program)') return 'native (program)';
  if (name === '(root)') return 'root';
  if (/\/dist\/|\/src\//.test(url) && !url.includes('node_modules')) return 'lyve-replicator';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) {
    if (pkg.startsWith('@smithy/') || pkg.startsWith('@aws-sdk/') || pkg.startsWith('@aws-crypto/')) {
      if (/signature-v4|sha256|hmac|crypto/.test(url)) return 'AWS SDK: signing';
      if (/xml|fast-xml-parser/.test(url)) return 'AWS SDK: XML';
      return 'AWS SDK: other';
    }
    if (pkg === 'fast-xml-parser' || pkg === 'strnum') return 'AWS SDK: XML';
    return `npm: ${pkg}`;
  }
  if (url.startsWith('node:internal/crypto') || url.startsWith('node:crypto')) return 'node: crypto';
  if (/^node:(internal\/)?(http|_http|net|stream|internal\/streams|tls|dns|internal\/http)/.test(url)) return 'node: http/net/streams';
  if (url.startsWith('node:')) return 'node: other';
  if (name && !url) return `native: ${name}`;
  return 'other';
}

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const areas = new Map<string, number>();
  const functions = new Map<string, { area: string; ms: number }>();
  for (const [id, ms] of self) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    const a = area(url, functionName);
    areas.set(a, (areas.get(a) ?? 0) + ms);
    const shortUrl = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|src)\//, '$1/');
    const name = `${functionName || '(anonymous)'} ${shortUrl ? `${shortUrl}:${lineNumber + 1}` : ''}`.trim();
    const f = functions.get(name) ?? { area: a, ms: 0 };
    f.ms += ms;
    functions.set(name, f);
  }
  const pct = (ms: number) => Number(((ms / totalMs) * 100).toFixed(1));
  const idle = areas.get('idle (waiting for I/O)') ?? 0;
  return {
    totalMs: Math.round(totalMs),
    busyPercent: pct(totalMs - idle),
    areas: [...areas].sort((a, b) => b[1] - a[1]).map(([a, ms]) => ({ area: a, ms: Math.round(ms), percent: pct(ms) })),
    functions: [...functions]
      .filter(([, f]) => f.area !== 'idle (waiting for I/O)')
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, top)
      .map(([name, f]) => ({ name, area: f.area, ms: Math.round(f.ms), percent: pct(f.ms) })),
  };
}

/** For the `top` functions by self time, the `depth`-frame caller stacks their time comes from. */
export function callers(file: string, top = 8, depth = 4, stacks = 3): { name: string; ms: number; from: { stack: string; ms: number }[] }[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n: ProfileNode) => {
    const { functionName, url, lineNumber } = n.callFrame;
    const short = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|src)\//, '$1/');
    return `${functionName || '(anonymous)'}${short ? ` ${short}:${lineNumber + 1}` : ''}`;
  };
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const byName = new Map<string, { ms: number; from: Map<string, number> }>();
  for (const [id, ms] of self) {
    const node = byId.get(id)!;
    if (['(idle)', '(program)', '(garbage collector)', '(root)'].includes(node.callFrame.functionName)) continue;
    const name = label(node);
    const entry = byName.get(name) ?? { ms: 0, from: new Map<string, number>() };
    entry.ms += ms;
    const chain: string[] = [];
    for (let p = parent.get(id); p !== undefined && chain.length < depth; p = parent.get(p)) chain.push(label(byId.get(p)!));
    const stack = chain.join(' ← ');
    entry.from.set(stack, (entry.from.get(stack) ?? 0) + ms);
    byName.set(name, entry);
  }
  return [...byName]
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, top)
    .map(([name, e]) => ({
      name,
      ms: Math.round(e.ms),
      from: [...e.from].sort((a, b) => b[1] - a[1]).slice(0, stacks).map(([stack, ms]) => ({ stack, ms: Math.round(ms) })),
    }));
}

export function formatProfile(s: ProfileSummary): string {
  const lines = [`profile ${s.totalMs} ms, main thread busy ${s.busyPercent} %`, 'by area:'];
  for (const a of s.areas) lines.push(`  ${String(a.percent).padStart(5)} %  ${String(a.ms).padStart(7)} ms  ${a.area}`);
  lines.push('top functions (self time):');
  for (const f of s.functions) lines.push(`  ${String(f.percent).padStart(5)} %  ${String(f.ms).padStart(7)} ms  ${f.name}  [${f.area}]`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const withCallers = process.argv.includes('--callers');
  for (const file of process.argv.slice(2).filter((a) => a !== '--callers')) {
    process.stdout.write(`${file}\n${formatProfile(summarizeProfile(file))}\n`);
    if (withCallers) {
      process.stdout.write('where the top functions are called from:\n');
      for (const c of callers(file)) {
        process.stdout.write(`  ${c.ms} ms  ${c.name}\n`);
        for (const f of c.from) process.stdout.write(`      ${String(f.ms).padStart(5)} ms  ← ${f.stack}\n`);
      }
    }
  }
}
