/**
 * Throwaway single-node Ceph cluster (1 mon + 1 bluestore OSD + radosgw) on
 * 127.0.0.1, giving tests a real S3 endpoint. Uses the Debian packages
 * `ceph-mon ceph-osd radosgw` (Ceph 16.2 "pacific"); no systemd, docker or mgr.
 *
 * Everything (config, data, logs, sockets) lives in one temp dir. Daemons run
 * in the foreground (`-f`) as children of this process; they are SIGKILLed when
 * this process exits, and also (via `setpriv --pdeathsig`, when available) if
 * it dies abruptly.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { closeSync, openSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface RgwServer {
  /** S3 endpoint, e.g. http://127.0.0.1:PORT */
  endpoint: string;
  /** Directory holding ceph.conf, data, logs and sockets. */
  dir: string;
  /** Creates an S3 user with fresh random keys. */
  createUser(uid: string): Promise<S3Credentials>;
  /** Stops all daemons and removes the directory (unless it was given via options.dir). */
  stop(): Promise<void>;
}

export interface StartRgwOptions {
  /**
   * Directory to use (created if missing, must be empty). It is kept on stop()
   * so logs can be inspected. Default: a fresh temp dir, removed on stop().
   */
  dir?: string;
  /** Progress messages. */
  log?: (line: string) => void;
}

const MON_ID = 'a';
const RGW_NAME = 'client.rgw';
/** Size of the (sparse) bluestore block file: room for multi-GiB source + target copies. */
const BLOCK_SIZE = 40 * 1024 ** 3;
/** Per-step deadlines; the whole start normally takes ~4-5 s. */
const STEP_TIMEOUT_MS = 60_000;
/** Time given to a daemon to exit after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 5_000;

// ---------------------------------------------------------------------------
// Child process bookkeeping: every live daemon, so an 'exit' handler can kill it.

const liveDaemons = new Set<ChildProcess>();
const ownedDirs = new Set<string>();
let exitHandlerInstalled = false;

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on('exit', () => {
    for (const child of liveDaemons) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of ownedDirs) {
      try {
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        // best effort: a dying daemon may still be writing
      }
    }
  });
}

/**
 * Whether `setpriv --pdeathsig KILL` (util-linux) works: it makes the kernel
 * kill a daemon when we die without running 'exit' handlers (e.g. SIGKILL).
 */
let setprivWorks: boolean | undefined;
function hasSetpriv(): boolean {
  setprivWorks ??= spawnSync('setpriv', ['--pdeathsig', 'KILL', 'true'], { stdio: 'ignore' }).status === 0;
  return setprivWorks;
}

// ---------------------------------------------------------------------------
// Small helpers

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not determine a free port'));
        return;
      }
      srv.close(() => resolve(addr.port));
    });
  });
}

/** Several distinct free ports (the OS could hand out the same one twice after close). */
async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function tail(file: string, lines = 40): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n').trimEnd();
  } catch {
    return '(no log)';
  }
}

/** Runs a short-lived command under coreutils `timeout` (some ceph CLI calls hang forever without a mgr). */
async function run(cmd: string, args: string[], timeoutSec = 30): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'timeout',
      ['-k', '5', String(timeoutSec), cmd, ...args],
      { maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const code = (err as { code?: unknown }).code;
          const why = code === 124 ? `timed out after ${timeoutSec} s` : `failed (${String(code ?? err.message)})`;
          reject(new Error(`${cmd} ${args.join(' ')} ${why}\n${stderr.trim()}\n${stdout.trim()}`.trimEnd()));
          return;
        }
        resolve(stdout);
      },
    );
  });
}

/** Adds the tail of `logFile` to the error of a failed command. */
async function withLogTail<T>(logFile: string, promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`${message}\n--- ${logFile} (tail) ---\n${await tail(logFile)}`);
  }
}

function randomString(alphabet: string, length: number): string {
  // Rejection sampling keeps the distribution uniform.
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < limit && out.length < length) out += alphabet[b % alphabet.length];
    }
  }
  return out;
}

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const SECRET_ALPHABET = UPPER_ALNUM + 'abcdefghijklmnopqrstuvwxyz';

// ---------------------------------------------------------------------------
// Daemons

class Daemon {
  readonly child: ChildProcess;
  /** Set once the process has exited. */
  exit: string | undefined;
  readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    /** The daemon's own log file (`log file` in ceph.conf). */
    readonly logFile: string,
    /** Captured stdout/stderr. */
    readonly outFile: string,
    cmd: string,
    args: string[],
  ) {
    const fd = openSync(outFile, 'a');
    try {
      const [file, argv] = hasSetpriv() ? ['setpriv', ['--pdeathsig', 'KILL', cmd, ...args]] : [cmd, args];
      this.child = spawn(file, argv, { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    liveDaemons.add(this.child);
    this.exited = new Promise((resolve) => {
      const done = (desc: string) => {
        if (this.exit !== undefined) return;
        this.exit = desc;
        liveDaemons.delete(this.child);
        resolve();
      };
      this.child.once('exit', (code, signal) => done(signal ? `killed by ${signal}` : `exited with code ${code}`));
      this.child.once('error', (err) => done(`failed to spawn: ${err.message}`));
    });
  }

  /** Error for a daemon that died or did not come up, with the tails of its logs. */
  async failure(what: string): Promise<Error> {
    const log = await tail(this.logFile);
    const out = await tail(this.outFile, 20);
    return new Error(
      `${this.name} ${what}\n--- ${this.logFile} (tail) ---\n${log}\n--- ${this.outFile} (tail) ---\n${out}`,
    );
  }

  async stop(): Promise<void> {
    if (this.exit !== undefined) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), KILL_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * Polls `check` until it returns true. Fails if any of `watch` exits meanwhile,
 * or after the deadline (blaming `blame` with its log tail).
 */
async function waitUntil(
  what: string,
  blame: Daemon,
  watch: Daemon[],
  check: () => Promise<boolean>,
  timeoutMs = STEP_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    for (const d of watch) {
      if (d.exit !== undefined) throw await d.failure(`${d.exit} while waiting for ${what}`);
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      const e = await blame.failure(`did not become ready: ${what} (${timeoutMs / 1000} s)`);
      if (lastError) e.message += `\n--- last check error ---\n${lastError}`;
      throw e;
    }
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------
// Configuration

function cephConf(o: { dir: string; fsid: string; monV2: number; monV1: number; rgwPort: number }): string {
  const d = o.dir;
  return `[global]
fsid = ${o.fsid}
mon host = [v2:127.0.0.1:${o.monV2},v1:127.0.0.1:${o.monV1}]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
# Keep every file inside the temp dir (defaults point at /var/{lib,log,run}/ceph).
run dir = ${d}/run
admin socket = ${d}/run/$name.asok
log file = ${d}/log/$name.log
# Otherwise a daemon that exit()s early may never write its last error to the log.
log flush on exit = true
crash dir = ${d}/crash
keyring = ${d}/keyring
# No cephx. Then msgr2 must use crc, not "secure" mode: otherwise radosgw
# loops on EACCES for rgw_init_timeout (300 s).
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms client mode = crc
ms mon cluster mode = crc
ms cluster mode = crc
ms mon service mode = crc
ms service mode = crc
# Single OSD and no mgr (hence no PG autoscaler): one replica, few PGs.
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false

[mon]
mon data = ${d}/mon.$id
mon cluster log file = ${d}/log/cluster.log
# Default 1 s; proposing every 50 ms cuts cluster start-up from ~15 s to ~4 s.
paxos propose interval = 0.05
# Don't let a nearly full host disk shut the mon down (default crit is 5 % free).
mon data avail warn = 2
mon data avail crit = 1

[osd]
osd data = ${d}/osd.$id
osd objectstore = bluestore
# Bluestore on a sparse file, which must live outside the OSD data dir.
bluestore block path = ${d}/osd.$id.block
bluestore block create = true
bluestore block size = ${BLOCK_SIZE}
bluestore fsck on mkfs = false
# Modest memory: the caches are autotuned to fit this target (default 4 GiB).
osd memory target = 1073741824

[${RGW_NAME}]
rgw data = ${d}/rgw
rgw frontends = beast endpoint=127.0.0.1:${o.rgwPort}
# Fail fast instead of retrying for 300 s if the cluster is unusable.
rgw init timeout = 60
# Reclaim deleted data during tests: objects become collectable after 10 s
# (default 2 h) and the GC runs every 10 s (default 1 h).
rgw gc obj min wait = 10
rgw gc processor period = 10
`;
}

// ---------------------------------------------------------------------------

export async function startRgw(options: StartRgwOptions = {}): Promise<RgwServer> {
  const log = options.log ?? (() => {});
  installExitHandler();

  let dir: string;
  const ownDir = options.dir === undefined;
  if (options.dir === undefined) {
    dir = await mkdtemp(path.join(tmpdir(), 'rgw-'));
    ownedDirs.add(dir);
  } else {
    dir = path.resolve(options.dir);
    await mkdir(dir, { recursive: true });
    if ((await readdir(dir)).length > 0) throw new Error(`startRgw: ${dir} is not empty`);
  }

  const daemons: Daemon[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // radosgw first, then the OSD, then the mon, so none blocks on a missing peer.
    for (const d of [...daemons].reverse()) await d.stop();
    if (ownDir) {
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
      ownedDirs.delete(dir);
    }
  };

  try {
    for (const sub of ['run', 'log', 'crash', 'rgw']) await mkdir(path.join(dir, sub));
    const conf = path.join(dir, 'ceph.conf');
    const [monV2, monV1, rgwPort] = (await freePorts(3)) as [number, number, number];
    const fsid = randomUUID();
    await writeFile(conf, cephConf({ dir, fsid, monV2, monV1, rgwPort }));

    const ceph = (args: string[], timeoutSec = 20) =>
      run('ceph', ['-c', conf, '--connect-timeout', '10', ...args], timeoutSec);
    const logFile = (name: string) => path.join(dir, 'log', `${name}.log`);
    const outFile = (name: string) => path.join(dir, 'log', `${name}.out`);
    const startDaemon = (name: string, cmd: string, args: string[]) => {
      const d = new Daemon(name, logFile(name), outFile(name), cmd, args);
      daemons.push(d);
      return d;
    };

    // Monitor.
    const monmap = path.join(dir, 'monmap');
    await run('monmaptool', [
      '--create', '--clobber', '--fsid', fsid,
      '--addv', MON_ID, `[v2:127.0.0.1:${monV2},v1:127.0.0.1:${monV1}]`, monmap,
    ]);
    // mkfs logs to its own file, so that the daemon's log tail in errors is not mkfs noise.
    const monMkfsLog = logFile(`mon.${MON_ID}.mkfs`);
    await withLogTail(monMkfsLog, run('ceph-mon', ['-c', conf, '--log-file', monMkfsLog, '--mkfs', '-i', MON_ID, '--monmap', monmap]));
    const mon = startDaemon(`mon.${MON_ID}`, 'ceph-mon', ['-c', conf, '-f', '-i', MON_ID]);
    await waitUntil('mon quorum', mon, [mon], async () => {
      const s = JSON.parse(await ceph(['quorum_status', '-f', 'json'], 10)) as { quorum_names?: string[] };
      return s.quorum_names?.includes(MON_ID) ?? false;
    });
    log(`mon.${MON_ID} up on 127.0.0.1:${monV2}`);

    // OSD: allocate an id, mkfs (creates the sparse block file), start, wait until "up".
    const osdUuid = randomUUID();
    const osdId = (await ceph(['osd', 'new', osdUuid])).trim();
    if (!/^\d+$/.test(osdId)) throw new Error(`ceph osd new returned ${JSON.stringify(osdId)}`);
    await mkdir(path.join(dir, `osd.${osdId}`));
    const osdMkfsLog = logFile(`osd.${osdId}.mkfs`);
    await withLogTail(osdMkfsLog, run('ceph-osd', ['-c', conf, '--log-file', osdMkfsLog, '--mkfs', '-i', osdId, '--osd-uuid', osdUuid], 60));
    const osd = startDaemon(`osd.${osdId}`, 'ceph-osd', ['-c', conf, '-f', '-i', osdId]);
    await waitUntil(`osd.${osdId} up`, osd, [mon, osd], async () => {
      const s = JSON.parse(await ceph(['osd', 'stat', '-f', 'json'], 10)) as { num_up_osds?: number };
      return s.num_up_osds === 1;
    });
    log(`osd.${osdId} up`);

    // radosgw: it creates its pools on first start; wait until S3 answers.
    const rgw = startDaemon(RGW_NAME, 'radosgw', ['-c', conf, '-f', '-n', RGW_NAME]);
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    await waitUntil(`S3 endpoint ${endpoint}`, rgw, [mon, osd, rgw], async () => {
      const res = await fetch(endpoint, { signal: AbortSignal.timeout(5_000) });
      const body = await res.text();
      return body.includes('<?xml');
    });
    log(`radosgw up at ${endpoint}`);

    const createUser = async (uid: string): Promise<S3Credentials> => {
      const creds = {
        accessKeyId: randomString(UPPER_ALNUM, 20),
        secretAccessKey: randomString(SECRET_ALPHABET, 40),
      };
      await run('radosgw-admin', [
        '-c', conf, 'user', 'create', '--uid', uid, '--display-name', uid,
        '--access-key', creds.accessKeyId, '--secret-key', creds.secretAccessKey,
      ]);
      return creds;
    };

    return { endpoint, dir, createUser, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
