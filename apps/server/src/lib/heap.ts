/**
 * The V8 heap's growth for a service whose work is streaming bytes (imported first by index.ts).
 *
 * Every socket read of a part's body is a new 64 KiB Buffer: memory outside the JS heap that
 * V8 counts, until a scavenge frees it, against the room the old generation has left before
 * its next mark-compact. With V8's default (dynamic) growing factor that room is a few tens of
 * megabytes above this service's live heap, and young Buffers are swept only every few tens of
 * megabytes received; so an upload triggers a full mark-compact of the whole heap every few tens
 * of megabytes, for garbage a scavenge would have freed. A bare pipe, with almost no live heap,
 * does not pay this: it is the service's modules, not its work, that make the difference.
 *
 * A growing factor of 4 (the default varies between 1.1 and 4) leaves the old generation room
 * for the Buffers in flight, so an upload runs with a handful of mark-compacts
 * (bench:upload prints the service's count). The cost is that the heap may grow to four times
 * what is live before it is marked, which for this service is tens of megabytes. Other flags
 * (--max-semi-space-size, --no-memory-reducer) do not help, and --initial-old-space-size holds
 * only until the first mark-compact. The figures: docs/benchmarks.md, "Why the code is as it is".
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
