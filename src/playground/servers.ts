/**
 * The playground's two in-memory S3 servers (fauxqs, which also speaks SQS), bound to 127.0.0.1.
 * fauxqs's own startFauxqs() listens on 0.0.0.0; its buildApp() is the same Fastify application
 * without the listen call, so we bind loopback ourselves.
 */
import type { buildApp } from 'fauxqs';

export type FauxqsApp = ReturnType<typeof buildApp>;

export interface Server {
  name: string;
  /** e.g. "http://127.0.0.1:4566"; use with path-style addressing. */
  endpoint: string;
  port: number;
  /** True when the requested port was taken and a random one was used instead. */
  portFallback: boolean;
  app: FauxqsApp;
  /** Closes the server and its open connections. Safe to call more than once. */
  stop(): Promise<void>;
}

/** fauxqs accepts any keys; these are what the playground signs with and prints. */
export const CREDENTIALS = {
  source: { accessKeyId: 'playground-source', secretAccessKey: 'playground-source-secret' },
  target: { accessKeyId: 'playground-target', secretAccessKey: 'playground-target-secret' },
} as const;

export const REGION = 'us-east-1';

/** fauxqs is a development dependency: say so instead of failing with ERR_MODULE_NOT_FOUND. */
async function loadFauxqs(): Promise<typeof import('fauxqs')> {
  try {
    return await import('fauxqs');
  } catch (error) {
    throw new Error(`the playground needs the package "fauxqs" (a development dependency): run "npm ci" in the repository (${String(error)})`);
  }
}

/**
 * Starts an empty server on 127.0.0.1:`port` (0 = random) with the given buckets. A fixed port
 * that is already in use falls back to a random one. `setup` runs before the server listens
 * (Fastify accepts hooks only then).
 */
export async function startServer(name: string, port: number, buckets: string[], setup?: (app: FauxqsApp) => void): Promise<Server> {
  const { buildApp } = await loadFauxqs();
  for (const attempt of port === 0 ? [0] : [port, 0]) {
    const app = buildApp({ logger: false });
    setup?.(app);
    let stopped: Promise<void> | undefined;
    const stop = (): Promise<void> => (stopped ??= app.close());
    try {
      const endpoint = await app.listen({ host: '127.0.0.1', port: attempt });
      for (const bucket of buckets) {
        // inject() calls the CreateBucket route in-process: no signing, no socket.
        const res = await app.inject({ method: 'PUT', url: `/${encodeURIComponent(bucket)}` });
        if (res.statusCode !== 200) throw new Error(`${name} server: creating bucket ${bucket} failed: HTTP ${res.statusCode} ${res.body}`);
      }
      return { name, endpoint, port: Number(new URL(endpoint).port), portFallback: attempt !== port, app, stop };
    } catch (error) {
      await stop();
      // A fixed port in use: try again on a random one.
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 0) throw error;
    }
  }
  throw new Error('unreachable');
}
