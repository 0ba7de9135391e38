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
});
