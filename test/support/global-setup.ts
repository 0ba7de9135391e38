/**
 * vitest globalSetup: one Ceph RADOS Gateway for the whole run, with two S3
 * users, `source` and `target`. Tests read it with `inject('rgw')`.
 *
 * To reuse an already running gateway (e.g. `npx tsx scripts/rgw.ts`, which
 * prints these lines), set RGW_ENDPOINT, RGW_SOURCE_ACCESS_KEY_ID,
 * RGW_SOURCE_SECRET_ACCESS_KEY, RGW_TARGET_ACCESS_KEY_ID and
 * RGW_TARGET_SECRET_ACCESS_KEY.
 */
import { spawnSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { startRgw, type S3Credentials } from './rgw.js';

export interface ProvidedRgw {
  endpoint: string;
  source: S3Credentials;
  target: S3Credentials;
}

declare module 'vitest' {
  export interface ProvidedContext {
    rgw: ProvidedRgw;
  }
}

function fromEnv(): ProvidedRgw | undefined {
  const endpoint = process.env.RGW_ENDPOINT;
  if (!endpoint) return undefined;
  const need = (name: string): string => {
    const value = process.env[name];
    if (!value) throw new Error(`RGW_ENDPOINT is set but ${name} is not`);
    return value;
  };
  return {
    endpoint,
    source: {
      accessKeyId: need('RGW_SOURCE_ACCESS_KEY_ID'),
      secretAccessKey: need('RGW_SOURCE_SECRET_ACCESS_KEY'),
    },
    target: {
      accessKeyId: need('RGW_TARGET_ACCESS_KEY_ID'),
      secretAccessKey: need('RGW_TARGET_SECRET_ACCESS_KEY'),
    },
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = fromEnv();
  if (external) {
    console.log(`rgw: using ${external.endpoint} from RGW_ENDPOINT`);
    project.provide('rgw', external);
    return async () => {};
  }

  const missing = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin'].filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0,
  );
  if (missing.length > 0) {
    throw new Error(
      `the tests need Ceph's S3 gateway, and ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not installed: ` +
        'run `apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw` (Debian/Ubuntu; .ci/run does this), ' +
        'or point RGW_ENDPOINT and the RGW_* keys at a running gateway',
    );
  }

  const t0 = performance.now();
  const rgw = await startRgw();
  try {
    const source = await rgw.createUser('source');
    const target = await rgw.createUser('target');
    console.log(`rgw: up at ${rgw.endpoint} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    project.provide('rgw', { endpoint: rgw.endpoint, source, target });
  } catch (err) {
    await rgw.stop();
    throw err;
  }
  return () => rgw.stop();
}
