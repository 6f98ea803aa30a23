/** `pnpm migrate`: applies migrations and exits (the Helm chart's pre-upgrade Job). */
import { loadConfig, ConfigError } from '../config.js';
import { migrate, openDatabase } from './client.js';

try {
  const config = loadConfig();
  const database = await openDatabase(config);
  await migrate(database);
  await database.close();
  console.log(JSON.stringify({ level: 'info', msg: 'migrations applied', database: database.kind }));
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`sortie: invalid configuration: ${err.message}`);
  } else {
    console.error(`sortie: migration failed: ${(err as Error).message}`);
  }
  process.exit(1);
}
