/**
 * Runs the background jobs on timers: the sweeper every minute, the sealer every 10 s and, when
 * retention is on, the retention job hourly. Timers are unref'd so they never
 * keep a process alive; stop() clears them and waits for a run in progress,
 * so the database is not closed under it.
 */
import type { Logger } from '../lib/logger.js';
import type { RetentionJob } from './retention.js';
import type { Sweeper } from './sweeper.js';
import type { SealService } from '../seals/service.js';

export interface SchedulerOptions {
  retention: RetentionJob;
  sweeper: Sweeper;
  /** Seals ready recordings (seals/service.ts). */
  sealer?: SealService;
  logger: Logger;
  /** Between retention runs. Default one hour (admin guide: "runs hourly"). */
  retentionIntervalMs?: number;
  /** Between the sealer's runs. Default 10 s: a recording is sealed seconds after it is ready. */
  sealIntervalMs?: number;
  /** Between sweeps. Default one minute: a small delay next to the 30-minute abandon time. */
  sweepIntervalMs?: number;
  /**
   * Before the first retention run. Default one minute, so a deployment that
   * restarts more often than hourly still runs retention, yet start-up is not slowed.
   */
  firstRetentionDelayMs?: number;
}

export interface Scheduler {
  stop(): Promise<void>;
}

export function startJobs(opts: SchedulerOptions): Scheduler {
  const { logger } = opts;
  const loops = [
    loop('sweeper', () => opts.sweeper.run(), opts.sweepIntervalMs ?? 60_000, opts.sweepIntervalMs ?? 60_000, logger),
    ...(opts.sealer
      ? [loop('sealer', () => opts.sealer!.run(), opts.sealIntervalMs ?? 10_000, opts.sealIntervalMs ?? 10_000, logger)]
      : []),
    ...(opts.retention.enabled
      ? [
          loop(
            'retention',
            () => opts.retention.run(),
            opts.firstRetentionDelayMs ?? 60_000,
            opts.retentionIntervalMs ?? 60 * 60_000,
            logger,
          ),
        ]
      : []),
  ];
  return {
    async stop() {
      await Promise.all(loops.map((l) => l.stop()));
    },
  };
}

function loop(name: string, run: () => Promise<unknown>, firstDelayMs: number, intervalMs: number, logger: Logger) {
  let stopped = false;
  let running: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(tick, ms);
    timer.unref();
  };
  const tick = () => {
    running = run()
      .then(
        () => undefined,
        (err: unknown) => logger.error(`${name} run failed`, { err: err instanceof Error ? err.message : String(err) }),
      )
      .finally(() => {
        running = null;
        // The next run is timed from the end of this one, so runs never overlap.
        schedule(intervalMs);
      });
  };
  schedule(firstDelayMs);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
