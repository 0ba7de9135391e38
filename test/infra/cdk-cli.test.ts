/**
 * `npx cdk synth` as a user (or CI) runs it: a subprocess, offline, with no AWS credentials,
 * bundling the function with the local esbuild. Slowest infra test (~5-10 s).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, RUNTIME } from '../../infra/constructs/replicator-function.js';

const outdirs: string[] = [];
afterAll(() => {
  for (const outdir of outdirs) rmSync(outdir, { recursive: true, force: true });
});

function cdkSynth(context: Record<string, string>) {
  const outdir = mkdtempSync(join(tmpdir(), 'lyve-replicator-cdk-cli-'));
  outdirs.push(outdir);
  // No credentials, profiles or endpoints from the machine: synth must not need them.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_') && !key.startsWith('CDK_')));
  const started = Date.now();
  const result = spawnSync('npx', ['cdk', 'synth', '--quiet', '--no-notices', '--output', outdir, ...Object.entries(context).flatMap(([key, value]) => ['-c', `${key}=${value}`])], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    env: {
      ...env,
      CDK_DISABLE_VERSION_CHECK: 'true',
      CDK_DISABLE_CLI_TELEMETRY: 'true',
      CDK_DEFAULT_ACCOUNT: '123456789012',
      CDK_DEFAULT_REGION: 'us-east-1',
      // A use of a deprecated aws-cdk-lib API throws instead of warning.
      JSII_DEPRECATED: 'fail',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  });
  return { ...result, output: `${result.stdout}\n${result.stderr}`, outdir, seconds: (Date.now() - started) / 1000 };
}

describe('npx cdk synth', () => {
  it('synthesizes offline without credentials, bundles the function as ESM with local esbuild, no deprecation warning', () => {
    const result = cdkSynth({
      sourceBuckets: 'source-a,source-b',
      targetBucket: 'lyve-target',
      targetRegion: 'us-east-1',
      secretName: 'lyve-cloud/replicator',
      replicateDeletes: 'true',
      replicateTags: 'true',
      alarmEmail: 'ops@example.com',
    });
    console.info(`npx cdk synth: ${result.seconds.toFixed(1)} s`);
    expect(result.status, result.output).toBe(0);
    expect(result.output).not.toMatch(/deprecat/i);
    expect(result.output).not.toMatch(/docker/i);
    expect(result.output).not.toMatch(/\[Warning|warning:/i);

    const template = JSON.parse(readFileSync(join(result.outdir, 'LyveReplicator.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    const functions = Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::Lambda::Function');
    const replicator = functions.find((resource) => String(resource.Properties.Runtime).startsWith('nodejs'));
    expect(replicator?.Properties).toMatchObject({ Runtime: RUNTIME.name, Architectures: ['arm64'], Handler: 'index.handler' });
    // Every function in the template (CDK's custom-resource handler too) is on a supported runtime.
    for (const fn of functions) expect(String(fn.Properties.Runtime)).not.toMatch(/^(nodejs(1\d|20)\.x|python3\.[0-9]\b|python3\.1[01]\b)/);

    // CDK's own template validation (CloudFormation schema) found nothing.
    const report = JSON.parse(readFileSync(join(result.outdir, 'validation-report.json'), 'utf8')) as { pluginReports: Array<{ violations?: unknown[] }> };
    expect(report.pluginReports.flatMap((plugin) => plugin.violations ?? [])).toEqual([]);

    // The bundle: one ESM file with the createRequire banner, plus its source map, AWS SDK included.
    const assets = readdirSync(result.outdir).filter((name) => name.startsWith('asset.') && existsSync(join(result.outdir, name, 'index.mjs')));
    expect(assets).toHaveLength(1);
    const bundle = readFileSync(join(result.outdir, assets[0]!, 'index.mjs'), 'utf8');
    expect(bundle.startsWith("import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);")).toBe(true);
    expect(bundle).toContain('aws-sdk-js'); // the SDK's user agent: bundled, not the runtime's
    expect(bundle).toContain('GetSecretValue');
    expect(bundle).not.toMatch(/from\s*["']@aws-sdk\//);
    expect(existsSync(join(result.outdir, assets[0]!, 'index.mjs.map'))).toBe(true);
  });

  it('fails with the missing context keys named', () => {
    const result = cdkSynth({ sourceBuckets: 'source-a', targetRegion: 'us-east-1', replicateDeletes: 'sure' });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('Invalid CDK context (3 problems):');
    expect(result.stderr).toContain('- targetBucket is missing: pass -c targetBucket=NAME');
    expect(result.stderr).toContain('- secretName is missing');
    expect(result.stderr).toContain('- replicateDeletes "sure" is not a boolean');
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
