/** The tests' polling helper: a condition that throws (file not there yet) is retried, not fatal. */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../testkit/wait.js';

describe('waitFor', () => {
  it('retries a condition that throws until it holds', async () => {
    let calls = 0;
    await waitFor(() => {
      calls += 1;
      if (calls < 3) throw Object.assign(new Error('ENOENT: no such file, open state.json'), { code: 'ENOENT' });
      return true;
    }, 2000, 'the third call', 10);
    expect(calls).toBe(3);
  });

  it('times out naming what it waited for and the last error', async () => {
    await expect(waitFor(() => { throw new Error('not yet'); }, 100, 'something', 10)).rejects.toThrow(/timed out after 100 ms waiting for something \(last check threw: not yet\)/);
  });
});
