import SonicBoom from 'sonic-boom';

/** Structured JSON logs, one object a line. */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** Bytes gathered before a write to stdout; below it, lines wait for the next one or the periodic flush. */
const LOG_MIN_LENGTH = 4096;
/** How long a line may wait in the buffer on a quiet service (the timer is unref'd: it keeps no process alive). */
const LOG_FLUSH_INTERVAL_MS = 1000;
/** A stuck reader of stdout must not grow the buffer without end: past this, lines are dropped. */
const LOG_MAX_LENGTH = 16 * 1024 * 1024;

let stdout: SonicBoom | undefined;

/**
 * The process's one stdout writer. `process.stdout.write` is synchronous on Linux pipes and files, and
 * writing every request's line that way costs ~0.9 ms of CPU a part: lines are gathered here
 * and written off the event loop in blocks. On exit — `process.exit()` in the shutdown path, a fatal
 * error — whatever is still buffered is written synchronously, so no line is lost.
 */
function stdoutWriter(): SonicBoom {
  if (stdout) return stdout;
  const dest = new SonicBoom({
    fd: 1,
    sync: false,
    minLength: LOG_MIN_LENGTH,
    maxLength: LOG_MAX_LENGTH,
    periodicFlush: LOG_FLUSH_INTERVAL_MS,
  });
  // An error writing logs (EPIPE: the reader went away) must not crash the service.
  dest.on('error', () => {});
  process.on('exit', () => {
    try {
      dest.flushSync();
    } catch {
      // Nothing more can be done for the logs at exit; the exit itself must go on.
    }
  });
  stdout = dest;
  return dest;
}

const writeStdout = (line: string) => {
  stdoutWriter().write(line + '\n');
};

export function createLogger(base: Record<string, unknown> = {}, write: (line: string) => void = writeStdout): Logger {
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...fields }));
  return {
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (fields) => createLogger({ ...base, ...fields }, write),
  };
}

/** A logger that keeps its lines, for tests that read what was logged. */
export function memoryLogger(): Logger & { lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({}, (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
  return Object.assign(logger, { lines });
}
