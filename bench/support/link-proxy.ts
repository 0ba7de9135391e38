/**
 * A TCP proxy on 127.0.0.1 that makes a loopback server look like one across a wide-area link:
 * every connection is capped at `bytesPerSecond` in each direction, and every byte arrives
 * `rttMs / 2` later than it left. Over the internet a single TCP connection is limited by its
 * window and the round trip, not by the machines; this models that, so tools are compared on
 * how many connections they keep busy and how many round trips they wait for, not only on CPU.
 * (Kernel traffic shaping, tc netem, is not available on every machine; this needs nothing.)
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';

export interface LinkOptions {
  /** host:port of the real server. */
  upstream: { host: string; port: number };
  /** Bandwidth of one connection in each direction, bytes per second. */
  bytesPerSecond: number;
  /** Round-trip time added: half on the way there, half on the way back. */
  rttMs: number;
}

export interface LinkProxy {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  close(): Promise<void>;
}

const BURST_MS = 10;

/**
 * One direction of one connection: chunks leave no faster than the rate (the writer is held
 * back, as a full TCP window would), and each is delivered `delayMs` after it left, in order.
 */
class LinkDirection extends Transform {
  private nextDeparture = 0;
  /** Chunks that have left, in order, with the time each arrives. */
  private readonly queue: { chunk: Buffer; arrival: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private drained: (() => void) | undefined;

  constructor(
    private readonly bytesPerSecond: number,
    private readonly delayMs: number,
  ) {
    super({ highWaterMark: 64 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const now = performance.now();
    // A timer that fired late does not cost bandwidth: up to BURST_MS of idle time is credited.
    const departure = Math.max(now - BURST_MS, this.nextDeparture) + (chunk.length / this.bytesPerSecond) * 1000;
    this.nextDeparture = departure;
    this.queue.push({ chunk, arrival: departure + this.delayMs });
    this.schedule();
    // The next chunk may leave once this one has: that is the rate limit, and backpressure.
    setTimeout(done, Math.max(0, departure - now));
  }

  override _flush(done: TransformCallback): void {
    if (this.queue.length === 0) done();
    else this.drained = () => done();
  }

  /** One timer delivers the chunks due, strictly in order (timers of different delays may not fire in order). */
  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = performance.now();
      while (this.queue.length > 0 && this.queue[0]!.arrival <= now + 0.5) {
        const { chunk } = this.queue.shift()!;
        if (!this.destroyed) this.push(chunk);
      }
      if (this.queue.length === 0) this.drained?.();
      else this.schedule();
    }, Math.max(0, this.queue[0]!.arrival - performance.now()));
  }
}

export async function startLinkProxy(options: LinkOptions): Promise<LinkProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(options.upstream.port, options.upstream.host);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(new LinkDirection(options.bytesPerSecond, options.rttMs / 2)).pipe(upstream);
    upstream.pipe(new LinkDirection(options.bytesPerSecond, options.rttMs / 2)).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
