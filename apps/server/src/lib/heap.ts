/**
 * The V8 heap's growth for a service whose work is streaming bytes (imported first by index.ts).
 *
 * Every socket read of a part's body is a new 64 KiB Buffer: memory outside the JS heap that
 * V8 counts, until a scavenge frees it, against the room the old generation has left before
 * its next mark-compact. With the service's ~18 MB of live heap, V8 sets that room at 12-24 MB,
 * and young Buffers are only swept every 32 MB or so; so during an upload V8 ran a full
 * mark-compact every ~26 MiB received (--trace-gc: 118 for 3 GiB, all "allocation limit"
 * starts with the old generation at 18 of 28-42 MB), each marking the whole 18 MB heap. The
 * same bare pipe with only a few kilobytes of heap has room to spare and ran 2; importing the
 * service's modules into it (no other change) brought it to 111 and took it from 550 to
 * 370 MiB/s.
 *
 * A growing factor of 4 (the default is dynamic, between 1.1 and 4) leaves the old generation
 * room for the Buffers in flight: 0-3 mark-compacts for the same 3 GiB (bench:upload prints the
 * service's count), and at 500 recorders the service's CPU per GiB went from 1.2-2.0 to 1.1-1.2
 * times the bare pipe's (README, "Benchmarks"). The heap may grow to four times what is live
 * before it is marked, which for this service is tens of megabytes. (--max-semi-space-size,
 * --no-memory-reducer: no change; --initial-old-space-size holds only until the first
 * mark-compact.)
 *
 * The flag is read each time V8 sets a new limit, so setting it at start-up is enough; a
 * `--heap-growing-percent` given on node's command line wins.
 */
import v8 from 'node:v8';

export const HEAP_GROWING_PERCENT = 300;

if (
  !process.execArgv.some((arg) => arg.startsWith('--heap-growing-percent') || arg.startsWith('--heap_growing_percent'))
) {
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
