/**
 * A reverse proxy on 127.0.0.1 (random port) in front of an S3 endpoint that injects faults:
 *
 * | fault            | what the client sees                                                        |
 * | ---------------- | --------------------------------------------------------------------------- |
 * | `slowdown`       | 503 SlowDown with an S3 XML error body (request not forwarded)               |
 * | `internal`       | 500 InternalError with an S3 XML error body (request not forwarded)          |
 * | `reset-request`  | part of the request body is forwarded, then both connections are destroyed   |
 * | `reset-response` | the request is served upstream; part of the response body reaches the client, then the connection is destroyed (the server did the work: a lost reply) |
 * | `stall`          | the request is served upstream; the response is held for `stallMs` (past the client's socket timeout), then dropped |
 * | `slow`           | the response body is throttled to `slowBytesPerSecond`                       |
 *
 * `rewrite` changes the body of a reply that is otherwise forwarded as is (a server answering
 * 200 with the wrong content), `intercept` answers with an S3 error of its own.
 *
 * Each request draws its fault from a PRNG seeded with `seed` (mulberry32), in arrival order: the
 * same seed and the same request sequence give the same faults. (With requests in parallel the
 * arrival order, and so which request gets which fault, varies a little between runs; the
 * rates do not.) The Host header is forwarded unchanged, so SigV4 signatures stay valid.
 */
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const FAULT_KINDS = ['slowdown', 'internal', 'reset-request', 'reset-response', 'stall', 'slow'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
export type FaultRates = Partial<Record<FaultKind, number>>;

export interface ProxiedRequest {
  method: string;
  /** Path-style bucket and key (decoded), and the raw query string. */
  bucket: string;
  key: string;
  query: string;
  headers: IncomingMessage['headers'];
  /** The SDK's attempt number (amz-sdk-request header), 1 when absent. */
  attempt: number;
}

export interface FaultProxyOptions {
  /** http://host:port of the real server. */
  upstream: string;
  seed?: number;
  /** Probability of each fault per request; their sum must be ≤ 1. */
  rates?: FaultRates;
  /** How long a stalled response is held before the connection is dropped (default 3,000 ms). */
  stallMs?: number;
  /** Bandwidth of a `slow` response (default 8 MiB/s). */
  slowBytesPerSecond?: number;
  /** Which requests may get random faults (default: all). */
  eligible?: (request: ProxiedRequest) => boolean;
  /**
   * Picks a request's fault itself: a kind, `'none'`, or undefined to leave it to the random draw.
   * For tests that need a given fault on a given call (e.g. the first CreateMultipartUpload).
   */
  script?: (request: ProxiedRequest) => FaultKind | 'none' | undefined;
  /** Called before a request is forwarded; may hold it (return a promise). */
  beforeForward?: (request: ProxiedRequest) => void | Promise<void>;
  /**
   * Rewrites the body of a forwarded reply (buffered whole; Content-Length follows): return the
   * new body, or undefined to leave it. For servers that answer wrongly but with a 2xx.
   */
  rewrite?: (request: ProxiedRequest, body: Buffer) => Buffer | undefined;
  /**
   * Answers a request itself instead of forwarding it: an S3 error (e.g. to imitate another
   * server's refusal), or a raw page (`html`, e.g. a load balancer's 502 page).
   */
  intercept?: (request: ProxiedRequest) => { status: number; code: string; message: string } | { status: number; html: string } | undefined;
}

export interface FaultProxy {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  /** Faults injected so far, by kind. */
  injected: Record<FaultKind, number>;
  /** Requests received. */
  requests: () => number;
  /** The highest SDK attempt number seen (bounded by the client's maxAttempts). */
  maxAttempt: () => number;
  /** Every fault injected: kind, method, key, attempt. */
  log: { kind: FaultKind; method: string; key: string; query: string; attempt: number }[];
  setRates(rates: FaultRates): void;
  close(): Promise<void>;
}

/** mulberry32: a small, fast, seedable PRNG; returns numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function errorXml(code: string, message: string, id: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${id}</RequestId><HostId>fault-proxy</HostId></Error>`;
}

function describe(req: IncomingMessage): ProxiedRequest {
  const url = new URL(req.url ?? '/', 'http://proxy');
  const [, bucket = '', ...rest] = url.pathname.split('/');
  const attempt = Number(/attempt=(\d+)/.exec(String(req.headers['amz-sdk-request'] ?? ''))?.[1] ?? '1');
  return {
    method: req.method ?? 'GET',
    bucket: decodeURIComponent(bucket),
    key: decodeURIComponent(rest.join('/')),
    query: url.search.slice(1),
    headers: req.headers,
    attempt,
  };
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(options.upstream);
  const random = seededRandom(options.seed ?? 1);
  let rates: FaultRates = { ...(options.rates ?? {}) };
  const stallMs = options.stallMs ?? 3_000;
  const slowRate = options.slowBytesPerSecond ?? 8 * 1024 * 1024;
  const injected = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const log: FaultProxy['log'] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let requests = 0;
  let maxAttempt = 0;
  let sequence = 0;

  const choose = (): FaultKind | undefined => {
    const roll = random();
    let sum = 0;
    for (const kind of FAULT_KINDS) {
      sum += rates[kind] ?? 0;
      if (roll < sum) return kind;
    }
    return undefined;
  };

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    requests += 1;
    const info = describe(req);
    maxAttempt = Math.max(maxAttempt, info.attempt);
    const id = `fault-${++sequence}`;
    const eligible = options.eligible?.(info) ?? true;
    // Two draws for every request (eligible or not, faulted or not), so the sequence of faults
    // depends only on the order requests arrive in.
    const drawn = choose();
    const cut = random(); // where a reset cuts the body, as a fraction
    const scripted = options.script?.(info);
    let fault = scripted === 'none' ? undefined : (scripted ?? (eligible ? drawn : undefined));
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0;
    if (fault === 'reset-request' && !hasBody) fault = 'reset-response';
    if (fault) {
      injected[fault] += 1;
      log.push({ kind: fault, method: info.method, key: info.key, query: info.query, attempt: info.attempt });
    }

    const reply = (status: number, code: string, message: string, html?: string) => {
      // Read the body first, as a server would before answering; then answer with S3's XML.
      req.resume();
      req.once('end', () => {
        const body = info.method === 'HEAD' ? '' : html ?? errorXml(code, message, id);
        res.writeHead(status, {
          'content-type': html === undefined ? 'application/xml' : 'text/html',
          'content-length': Buffer.byteLength(body),
          'x-amz-request-id': id,
        });
        res.end(body);
      });
    };

    const intercepted = options.intercept?.(info);
    if (intercepted) return 'html' in intercepted ? reply(intercepted.status, '', '', intercepted.html) : reply(intercepted.status, intercepted.code, intercepted.message);
    if (fault === 'slowdown') return reply(503, 'SlowDown', 'Please reduce your request rate.');
    if (fault === 'internal') return reply(500, 'InternalError', 'We encountered an internal error. Please try again.');

    await options.beforeForward?.(info);

    const headers = { ...req.headers };
    delete headers.expect; // this server already answered 100-continue; the upstream gets the body at once
    const up = httpRequest({
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers,
      agent,
    });
    const destroyBoth = () => {
      up.destroy();
      req.socket.destroy();
    };
    up.on('error', () => req.socket.destroy());
    req.on('error', () => up.destroy());
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });

    if (fault === 'reset-request') {
      const length = Number(req.headers['content-length']);
      const limit = Math.floor(length * (0.1 + 0.8 * cut));
      let sent = 0;
      req.on('data', (chunk: Buffer) => {
        if (sent >= limit) return;
        const part = chunk.subarray(0, Math.max(0, limit - sent));
        sent += part.length;
        up.write(part);
        if (sent >= limit) destroyBoth();
      });
      return;
    }
    req.pipe(up);

    up.on('response', (upRes) => {
      if (fault === 'stall') {
        // The server did the work; its reply never comes. The client times out and retries.
        upRes.resume();
        later(stallMs, () => req.socket.destroy());
        return;
      }
      if (options.rewrite && !fault) {
        const chunks: Buffer[] = [];
        upRes.on('data', (chunk: Buffer) => chunks.push(chunk));
        upRes.once('end', () => {
          const original = Buffer.concat(chunks);
          const rewritten = options.rewrite!(info, original);
          const { 'transfer-encoding': _chunked, ...rest } = upRes.headers;
          const headers = rewritten ? { ...rest, 'content-length': String(rewritten.length) } : upRes.headers;
          res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, headers);
          res.end(rewritten ?? original);
        });
        return;
      }
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, upRes.headers);
      if (fault === 'reset-response') {
        const length = Number(upRes.headers['content-length'] ?? 0);
        const limit = Math.floor(length * (0.1 + 0.8 * cut));
        if (length === 0 || info.method === 'HEAD') {
          // No body to cut: the reply is lost on its way (headers written but never flushed whole).
          upRes.resume();
          upRes.once('end', () => req.socket.destroy());
          return;
        }
        let sent = 0;
        upRes.on('data', (chunk: Buffer) => {
          if (sent >= limit) return;
          const part = chunk.subarray(0, Math.max(0, limit - sent));
          sent += part.length;
          res.write(part);
          if (sent >= limit) {
            upRes.destroy();
            // Let the bytes leave before the reset, so the client sees a body cut mid-way.
            later(20, () => req.socket.destroy());
          }
        });
        return;
      }
      if (fault === 'slow') {
        const chunkSize = 64 * 1024;
        const delay = Math.max(1, Math.round((chunkSize / slowRate) * 1000));
        const queue: Buffer[] = [];
        let ended = false;
        let writing = false;
        const pump = () => {
          if (writing) return;
          const next = queue.shift();
          if (!next) {
            if (ended) res.end();
            return;
          }
          writing = true;
          res.write(next);
          later(delay, () => {
            writing = false;
            upRes.resume();
            pump();
          });
        };
        upRes.on('data', (chunk: Buffer) => {
          for (let i = 0; i < chunk.length; i += chunkSize) queue.push(chunk.subarray(i, i + chunkSize));
          if (queue.length > 4) upRes.pause();
          pump();
        });
        upRes.on('end', () => {
          ended = true;
          pump();
        });
        return;
      }
      upRes.pipe(res);
    });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => req.socket.destroy());
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    injected,
    requests: () => requests,
    maxAttempt: () => maxAttempt,
    log,
    setRates: (next) => {
      rates = { ...next };
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The per-kind rates for a total fault rate, spread as the fault suite uses them. */
export function mixedRates(total: number): FaultRates {
  return {
    slowdown: total * 0.35,
    internal: total * 0.2,
    'reset-request': total * 0.15,
    'reset-response': total * 0.15,
    stall: total * 0.05,
    slow: total * 0.1,
  };
}
