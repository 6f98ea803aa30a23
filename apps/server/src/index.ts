/** Process entry: configuration → dependencies → serve; clean exit on signals. */
import { ConfigError, loadConfig } from './config.js';
import { buildService } from './server.js';

let config;
try {
  config = loadConfig();
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

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    service.logger.info('shutting down', { signal });
    service.close().then(
      () => process.exit(0),
      (err: unknown) => {
        service.logger.error('shutdown failed', { err: String(err) });
        process.exit(1);
      },
    );
  });
}
