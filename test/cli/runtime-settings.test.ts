import { describe, expect, it } from 'vitest';
import { lowMemoryFromEnvironment } from '../../src/cli/runtime-settings.js';

describe('lowMemoryFromEnvironment', () => {
  it('is on unless LYVE_REPLICATOR_LOW_MEMORY turns it off, and refuses anything else', () => {
    expect(lowMemoryFromEnvironment({})).toBe(true);
    for (const on of ['', '1', 'true', 'ON', ' yes ']) expect(lowMemoryFromEnvironment({ LYVE_REPLICATOR_LOW_MEMORY: on })).toBe(true);
    for (const off of ['0', 'false', 'Off', 'no']) expect(lowMemoryFromEnvironment({ LYVE_REPLICATOR_LOW_MEMORY: off })).toBe(false);
    expect(() => lowMemoryFromEnvironment({ LYVE_REPLICATOR_LOW_MEMORY: '2' })).toThrow('LYVE_REPLICATOR_LOW_MEMORY must be 1 or 0, not "2"');
  });
});
