import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  ceph: string;
  rclone: string;
  python: string;
  boto3: string;
}

function firstLine(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, AWS_CA_BUNDLE: '' } });
  return r.status === 0 ? (r.stdout || r.stderr).trim().split('\n')[0]!.trim() : `unavailable (${command})`;
}

export function describeMachine(): Machine {
  const cpuinfo = (() => {
    try {
      return readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return '';
    }
  })();
  const python = firstLine('/usr/bin/python3', [
    '-c',
    "import sys, boto3, botocore; print(sys.version.split()[0], 'boto3', boto3.__version__, 'botocore', botocore.__version__)",
  ]);
  const [pythonVersion, ...rest] = python.split(' ');
  return {
    cpus: Number(firstLine('nproc', [])) || os.availableParallelism(),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
    kernel: os.release(),
    node: process.version,
    ceph: firstLine('ceph', ['--version']),
    rclone: firstLine('rclone', ['version']),
    python: pythonVersion ?? python,
    boto3: rest.join(' '),
  };
}

export function loadAverage(): number[] {
  return os.loadavg().map((l) => Number(l.toFixed(2)));
}
