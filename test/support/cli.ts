/** Runs the built CLI (dist/cli/main.js) as users do: a subprocess with its own environment. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { inject } from 'vitest';

const BIN = path.resolve('dist/cli/main.js');

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Everything every run printed, for the test that scans output for secrets. */
export const transcript: string[] = [];

/**
 * Runs `lyve-replicator ...args` with the RGW source keys as the AWS chain and the target keys
 * as LC_*; `watch` is polled every 20 ms while it runs and may signal it.
 */
export function cli(args: string[], env: Record<string, string> = {}, watch?: (kill: (signal: NodeJS.Signals) => void) => void): Promise<Run> {
  const rgw = inject('rgw');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        AWS_ACCESS_KEY_ID: rgw.source.accessKeyId,
        AWS_SECRET_ACCESS_KEY: rgw.source.secretAccessKey,
        AWS_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
        LC_ACCESS_KEY: rgw.target.accessKeyId,
        LC_SECRET_KEY: rgw.target.secretAccessKey,
        LC_ENDPOINT_URL: rgw.endpoint,
        ...env,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = watch ? setInterval(() => watch((signal) => child.kill(signal)), 20) : undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(timer);
      transcript.push(stdout, stderr);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
