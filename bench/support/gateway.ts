import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startRgw, type S3Credentials } from '../../test/support/rgw.js';
import { cpuSecondsOf } from './measure.js';

export interface Gateway {
  endpoint: string;
  source: S3Credentials;
  target: S3Credentials;
  /** ceph.conf of the cluster (RGW_CONF for a reused gateway); undefined when unknown. */
  conf?: string;
  /** CPU seconds used so far by each Ceph daemon of this cluster (radosgw, ceph-osd, ceph-mon). */
  daemonCpuSeconds(): Record<string, number>;
  /** RGW's request counters (perf dump: req, failed_req, get, put), when the conf is known. */
  requestCounters(): Record<string, number>;
  /** Runs RGW's garbage collection now (deleted objects' space), when the conf is known. */
  collectGarbage(): Promise<void>;
  stop(): Promise<void>;
}

/** Pids of the processes whose command line names `conf` (the cluster's daemons), by program name. */
function daemonPids(conf: string): Map<string, number> {
  const pids = new Map<string, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (!argv.includes(conf) || argv.includes('--mkfs')) continue;
      const name = path.basename(argv[0] ?? '');
      if (['radosgw', 'ceph-osd', 'ceph-mon'].includes(name)) pids.set(name, Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function withConf(partial: Omit<Gateway, 'daemonCpuSeconds' | 'collectGarbage' | 'requestCounters'>): Gateway {
  let pids: Map<string, number> | undefined;
  return {
    ...partial,
    daemonCpuSeconds() {
      if (!partial.conf) return {};
      pids ??= daemonPids(partial.conf);
      return Object.fromEntries([...pids].map(([name, pid]) => [name, cpuSecondsOf(pid)]));
    },
    requestCounters() {
      if (!partial.conf) return {};
      try {
        const asok = path.join(path.dirname(partial.conf), 'run', 'client.rgw.asok');
        const dump = JSON.parse(execFileSync('timeout', ['10', 'ceph', '--admin-daemon', asok, 'perf', 'dump'], { encoding: 'utf8' })) as {
          rgw?: Record<string, unknown>;
        };
        const rgw = dump.rgw ?? {};
        return Object.fromEntries(['req', 'failed_req', 'get', 'put'].map((k) => [k, Number(rgw[k] ?? NaN)]));
      } catch {
        return {};
      }
    },
    collectGarbage() {
      const conf = partial.conf;
      if (!conf) return Promise.resolve();
      return new Promise((resolve) => {
        execFile('timeout', ['120', 'radosgw-admin', '-c', conf, 'gc', 'process', '--include-all'], () => resolve());
      });
    },
  };
}

/** A Ceph RGW with a source and a target user: the one in RGW_* variables, else a fresh one. */
export async function gateway(): Promise<Gateway> {
  const env = process.env;
  if (env.RGW_ENDPOINT) {
    return withConf({
      endpoint: env.RGW_ENDPOINT,
      source: { accessKeyId: env.RGW_SOURCE_ACCESS_KEY_ID!, secretAccessKey: env.RGW_SOURCE_SECRET_ACCESS_KEY! },
      target: { accessKeyId: env.RGW_TARGET_ACCESS_KEY_ID!, secretAccessKey: env.RGW_TARGET_SECRET_ACCESS_KEY! },
      ...(env.RGW_CONF && { conf: env.RGW_CONF }),
      stop: async () => {},
    });
  }
  const rgw = await startRgw();
  return withConf({
    endpoint: rgw.endpoint,
    source: await rgw.createUser('source'),
    target: await rgw.createUser('target'),
    conf: path.join(rgw.dir, 'ceph.conf'),
    stop: () => rgw.stop(),
  });
}

/** Environment for the CLI against this gateway: the source user as the AWS chain, the target user as LC_*. */
export function cliEnvironment(rgw: Pick<Gateway, 'endpoint' | 'source' | 'target'>): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: rgw.source.accessKeyId,
    AWS_SECRET_ACCESS_KEY: rgw.source.secretAccessKey,
    AWS_REGION: 'us-east-1',
    LC_ACCESS_KEY: rgw.target.accessKeyId,
    LC_SECRET_KEY: rgw.target.secretAccessKey,
    LC_ENDPOINT_URL: rgw.endpoint,
  };
}
