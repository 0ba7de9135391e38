/**
 * The local playground (`npm start`), run as users run it: the built dist/playground/main.js in a
 * child process (npm test builds before vitest runs).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../dist/playground/main.js', import.meta.url));

interface Run {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  /** Resolves with the first match of `pattern` in stdout, waiting for it up to `timeoutMs`. */
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  exit: Promise<number | null>;
}

function startPlayground(...args: string[]): Run {
  const child = spawn(process.execPath, [MAIN, '--port-source', '0', '--port-target', '0', ...args], {
    env: { ...process.env, TERM: 'dumb' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const output = () => `${stdout}${stderr ? `\n--- stderr ---\n${stderr}` : ''}`;
  const waitFor = async (pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = stdout.match(pattern);
      if (match) return match;
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`playground never printed ${pattern}; output:\n${output()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  return { child, output, waitFor, exit };
}

const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

describe('playground', () => {
  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first (npm test does)`);
  });

  it('--once replicates the samples, verifies every object and a delete, and exits 0', async () => {
    const run = startPlayground('--once');
    const code = await run.exit;
    const output = run.output();
    expect(code, output).toBe(0);
    expect(output).toMatch(/^verified: 5 of 5 objects identical$/m);
    expect(output).toMatch(/^delete: removed .* its replica is gone from the target$/m);
    expect(output).toMatch(/^PASS: /m);
  });

  it('replicates an upload to the printed source endpoint, then stops cleanly on SIGINT', async () => {
    const run = startPlayground();
    try {
      const [, source] = await run.waitFor(/^\s*source\s+(http:\/\/127\.0\.0\.1:\d+)/m);
      const [, target] = await run.waitFor(/^\s*target\s+(http:\/\/127\.0\.0\.1:\d+)/m);
      await run.waitFor(/^ready$/m);
      // A user's SDK as it comes: default checksums; fauxqs accepts any keys.
      const client = (endpoint: string | undefined) =>
        new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'me', secretAccessKey: 'me' } });
      const sourceClient = client(source);
      const targetClient = client(target);

      const key = 'uploads/from the test ✓.bin';
      const body = randomBytes(3 * 1024 * 1024 + 17);
      await sourceClient.send(new PutObjectCommand({ Bucket: 'source', Key: key, Body: body, ContentType: 'application/x-test' }));

      let replica: Uint8Array | undefined;
      const deadline = Date.now() + 30_000;
      while (!replica && Date.now() < deadline) {
        replica = await targetClient
          .send(new GetObjectCommand({ Bucket: 'target', Key: key }))
          .then((res) => res.Body?.transformToByteArray())
          .catch(() => undefined);
        if (!replica) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(replica && md5(replica), run.output()).toBe(md5(body));
      sourceClient.destroy();
      targetClient.destroy();

      run.child.kill('SIGINT');
      expect(await run.exit, run.output()).toBe(0);
      expect(run.output()).toMatch(/^summary: replicated \d+/m);
    } finally {
      run.child.kill('SIGKILL');
    }
  });
});
