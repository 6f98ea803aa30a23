/**
 * The job timers (unit test of src/jobs/scheduler.ts with stand-in jobs and
 * fake timers): the sweeper every minute, retention hourly only when enabled,
 * runs never overlap, a failed run is logged and the next one still happens,
 * and stop() ends the timers after waiting for a run in progress.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { memoryLogger } from '../src/lib/logger.js';
import { startJobs } from '../src/jobs/scheduler.js';
import type { RetentionJob } from '../src/jobs/retention.js';
import type { Sweeper } from '../src/jobs/sweeper.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

function jobs(retentionEnabled: boolean) {
  const retention = { enabled: retentionEnabled, run: vi.fn(async () => ({ deleted: 0, skipped: false })) };
  const sweeper = { run: vi.fn(async () => ({ finalized: 0, failed: 0, skipped: false })) };
  return {
    retention,
    sweeper,
    typed: { retention: retention as unknown as RetentionJob, sweeper: sweeper as unknown as Sweeper },
  };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('startJobs', () => {
  it('sweeps every minute and runs retention a minute after start, then hourly', async () => {
    const j = jobs(true);
    const s = startJobs({ ...j.typed, logger: memoryLogger() });
    await vi.advanceTimersByTimeAsync(MIN - 1);
    expect(j.sweeper.run).toHaveBeenCalledTimes(0);
    expect(j.retention.run).toHaveBeenCalledTimes(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(j.sweeper.run).toHaveBeenCalledTimes(1);
    expect(j.retention.run).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(2 * HOUR);
    expect(j.retention.run).toHaveBeenCalledTimes(3);
    expect(j.sweeper.run).toHaveBeenCalledTimes(121);
    await s.stop();
  });

  it('never runs retention when it is disabled (retention 0)', async () => {
    const j = jobs(false);
    const s = startJobs({ ...j.typed, logger: memoryLogger() });
    await vi.advanceTimersByTimeAsync(3 * HOUR);
    expect(j.retention.run).not.toHaveBeenCalled();
    expect(j.sweeper.run).toHaveBeenCalled();
    await s.stop();
  });

  it('logs a failed run and keeps the schedule', async () => {
    const j = jobs(false);
    j.sweeper.run.mockRejectedValueOnce(new Error('database unavailable'));
    const logger = memoryLogger();
    const s = startJobs({ ...j.typed, logger });
    await vi.advanceTimersByTimeAsync(2 * MIN);
    expect(j.sweeper.run).toHaveBeenCalledTimes(2);
    expect(logger.lines).toEqual([
      expect.objectContaining({ level: 'error', msg: 'sweeper run failed', err: 'database unavailable' }),
    ]);
    await s.stop();
  });

  it('does not start a run while the last is still going, and stop() waits for it', async () => {
    const j = jobs(false);
    let finish!: () => void;
    j.sweeper.run.mockImplementationOnce(
      () => new Promise((r) => (finish = () => r({ finalized: 0, failed: 0, skipped: false }))),
    );
    const s = startJobs({ ...j.typed, logger: memoryLogger() });
    await vi.advanceTimersByTimeAsync(10 * MIN);
    expect(j.sweeper.run).toHaveBeenCalledTimes(1);
    let stopped = false;
    const stopping = s.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    finish();
    await stopping;
    await vi.advanceTimersByTimeAsync(10 * MIN);
    expect(j.sweeper.run).toHaveBeenCalledTimes(1);
  });
});
