import { describe, expect, it } from 'vitest';
import { displayKey } from '../../src/cli/s3-location.js';

describe('keys in lines of output', () => {
  it('are shown as they are, or quoted with escapes when they hold control characters', () => {
    expect(displayKey('photos/été 2024.jpg')).toBe('photos/été 2024.jpg');
    expect(displayKey('a\nb')).toBe('"a\\u000ab"');
    expect(displayKey('x\u001b[31m')).toBe('"x\\u001b[31m"');
    expect(displayKey('q"\\\u009b\u2028')).toBe('"q\\"\\\\\\u009b\\u2028"');
  });
});
