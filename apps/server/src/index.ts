/** Process entry: configuration → dependencies → serve; clean exit on signals. */
// First: how the V8 heap grows while parts stream through (lib/heap.ts).
import './lib/heap.js';
import { ConfigError, loadConfig } from './config.js';
import { assertOutsideWebRoot } from './lib/web-root.js';
import { buildService, SHUTDOWN_DEADLINE_MS, WEB_ROOT } from './server.js';

let config;
try {
  config = loadConfig();
  assertOutsideWebRoot(config, WEB_ROOT);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`sortie: invalid configuration: ${err.message}`);
    process.exit(1);
  }
  throw err;
}

const service = await buildService(config);
const { port } = await service.listen();
service.logger.info('listening', {
  port,
  host: config.host,
  recordingEnabled: config.recordingEnabled,
  backend: config.storageBackend,
  database: service.database.kind,
  demo: config.demo,
});

// SIGTERM (Kubernetes, docker stop): drain — refuse new work, let in-flight part uploads
// finish within SHUTDOWN_DEADLINE_MS — then close the database and exit 0.
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) {
      // A second signal (Ctrl-C twice) means "now".
      service.logger.warn('second signal: exiting without waiting for requests in flight', { signal });
      process.exit(1);
    }
    stopping = true;
    // close() shuts the listener before its first await, so once this line is out no new connection gets in.
    const closing = service.close({ deadlineMs: SHUTDOWN_DEADLINE_MS });
    service.logger.info('shutting down', {
      signal,
      inFlight: service.drain.inFlight,
      deadlineMs: SHUTDOWN_DEADLINE_MS,
    });
    closing.then(
      () => {
        service.logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        service.logger.error('shutdown failed', { err: String(err) });
        process.exit(1);
      },
    );
  });
}
