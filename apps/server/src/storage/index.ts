/** Builds the storage backend the configuration names. */
import type { Config } from '../config.js';
import { LocalStorage } from './local.js';
import type { RecordingStorage } from './types.js';

export async function createStorage(config: Config): Promise<RecordingStorage> {
  if (config.storageBackend === 's3') {
    throw new Error('the s3 backend is being built (issue 4)');
  }
  const local = new LocalStorage(config.storagePath);
  await local.init();
  return local;
}
