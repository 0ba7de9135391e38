import { describe, expect, it } from 'vitest';
import { TransferBudget } from '../../src/index.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('TransferBudget', () => {
  it('bounds requests and bytes in flight', async () => {
    const budget = new TransferBudget({ maxRequests: 3, maxBytes: 100 });
    let peakRequests = 0;
    let peakBytes = 0;
    const task = (bytes: number) =>
      budget.run(bytes, async () => {
        peakRequests = Math.max(peakRequests, budget.inFlight.requests);
        peakBytes = Math.max(peakBytes, budget.inFlight.bytes);
        await tick();
      });
    await Promise.all([40, 40, 40, 10, 10, 10, 10, 90, 5].map(task));
    expect(peakRequests).toBeLessThanOrEqual(3);
    expect(peakBytes).toBeLessThanOrEqual(100);
    expect(budget.inFlight).toEqual({ requests: 0, bytes: 0 });
  });

  it('admits a request larger than the budget alone', async () => {
    const budget = new TransferBudget({ maxRequests: 4, maxBytes: 10 });
    const seen: number[] = [];
    await Promise.all(
      [50, 1].map((bytes) =>
        budget.run(bytes, async () => {
          seen.push(budget.inFlight.bytes);
          await tick();
        }),
      ),
    );
    expect(seen).toEqual([50, 1]);
  });

  it('releases its slot when a task fails', async () => {
    const budget = new TransferBudget({ maxRequests: 1, maxBytes: 10 });
    await expect(budget.run(5, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await budget.run(5, async () => 'ok')).toBe('ok');
  });

  it('a waiter whose signal aborts leaves the queue at once, and those behind it move up', async () => {
    const budget = new TransferBudget({ maxRequests: 1, maxBytes: 10 });
    let releaseFirst!: () => void;
    const first = budget.run(5, () => new Promise<void>((resolve) => (releaseFirst = resolve)));
    const cancel = new AbortController();
    const order: string[] = [];
    const cancelled = budget.run(5, async () => void order.push('cancelled ran'), cancel.signal).catch((error: Error) => void order.push(`cancelled: ${error.name}`));
    const next = budget.run(5, async () => void order.push('next ran'));
    await tick();
    cancel.abort();
    await cancelled;
    expect(order).toEqual(['cancelled: AbortError']); // at once, while the first still holds the slot
    releaseFirst();
    await Promise.all([first, next]);
    expect(order).toEqual(['cancelled: AbortError', 'next ran']);
    expect(budget.inFlight).toEqual({ requests: 0, bytes: 0 });
    await expect(budget.run(1, async () => 'never', cancel.signal)).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('waiters sharing one signal all leave when it aborts: none is granted on the way', async () => {
    const budget = new TransferBudget({ maxRequests: 4, maxBytes: 10 });
    let release!: () => void;
    const holder = budget.run(6, () => new Promise<void>((resolve) => (release = resolve)));
    const cancel = new AbortController();
    const ran: string[] = [];
    const big = budget.run(8, async () => void ran.push('big'), cancel.signal).catch((error: Error) => error.name);
    const small = budget.run(2, async () => void ran.push('small'), cancel.signal).catch((error: Error) => error.name);
    await tick();
    cancel.abort();
    expect(await Promise.all([big, small])).toEqual(['AbortError', 'AbortError']);
    expect(ran).toEqual([]);
    release();
    await holder;
    expect(budget.inFlight).toEqual({ requests: 0, bytes: 0 });
  });
});
