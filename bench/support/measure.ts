/**
 * Runs a tool as a child process and measures it from the outside: wall time, peak RSS
 * (VmHWM of the child's own /proc status, polled while it runs) and CPU seconds (the children
 * time this process accumulates when it reaps the child).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux

export interface Measured {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Spawn to exit. */
  seconds: number;
  /**
   * Peak resident set of the child process image: the largest VmHWM read from
   * /proc/<pid>/status (polled every `pollMs`; VmHWM only grows, so the last read before exit is
   * within one interval of the true peak), or VmRSS where that is larger.
   */
  peakRssBytes: number;
  /** User + system CPU seconds of the child (and any children it waited for). */
  cpuSeconds: number;
  stdout: string;
  /** The last 64 KiB of stderr. */
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  pollMs?: number;
  /** Keep stdout (default true); false discards it (e.g. a Lambda's log lines). */
  captureStdout?: boolean;
  /** Echo stderr lines to ours, prefixed. */
  echoStderr?: string;
}

/** Peak and current resident set of a live process, in bytes (undefined once it is gone). */
export function memoryOf(pid: number): { hwm: number; rss: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    const hwm = kib('VmHWM');
    const rss = kib('VmRSS');
    return Number.isFinite(hwm) ? { hwm, rss: Number.isFinite(rss) ? rss : 0 } : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) of a live process; with `children`, those it reaped too. */
export function cpuSecondsOf(pid: number | 'self', children = false): number {
  try {
    // Fields after the command name (which may contain spaces): state is field 3.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    // utime, stime, cutime, cstime are fields 14-17 → indexes 11-14 here.
    const [utime = NaN, stime = NaN, cutime = NaN, cstime = NaN] = fields.slice(11, 15);
    return (children ? cutime + cstime : utime + stime) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

export function runMeasured(command: string, args: string[], options: RunOptions = {}): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const cpuBefore = cpuSecondsOf('self', true);
    const started = performance.now();
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', options.captureStdout === false ? 'ignore' : 'pipe', 'pipe'],
    });
    let peak = 0;
    const poll = () => {
      if (child.pid === undefined) return;
      const m = memoryOf(child.pid);
      if (m) peak = Math.max(peak, m.hwm, m.rss);
    };
    const timer = setInterval(poll, options.pollMs ?? 100);
    const out: Buffer[] = [];
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString()).slice(-65536);
      if (options.echoStderr !== undefined) {
        for (const line of chunk.toString().split('\n')) if (line.trim()) process.stderr.write(`${options.echoStderr}${line}\n`);
      }
    });
    child.on('error', (error) => {
      clearInterval(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearInterval(timer);
      resolve({
        code,
        signal,
        seconds: (performance.now() - started) / 1000,
        peakRssBytes: peak,
        cpuSeconds: cpuSecondsOf('self', true) - cpuBefore,
        stdout: Buffer.concat(out).toString(),
        stderr: err,
      });
    });
    // One sample as soon as the process exists, then every pollMs.
    setImmediate(poll);
  });
}

/** Fails with the tail of stderr when the tool did not exit 0. */
export function assertSucceeded(what: string, m: Measured): Measured {
  if (m.code !== 0) {
    throw new Error(`${what} exited with ${m.code ?? m.signal}\n${m.stderr.split('\n').slice(-30).join('\n')}`);
  }
  return m;
}
