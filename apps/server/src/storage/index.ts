/** Builds the storage backend the configuration names. */
import type { Config } from '../config.js';
import { LocalStorage } from './local.js';
import { S3Storage } from './s3.js';
import type { RecordingStorage } from './types.js';

/** signingKey: the deployment's key (settings.signingKey), for the part URLs the local backend signs. */
export async function createStorage(config: Config, opts: { signingKey: string }): Promise<RecordingStorage> {
  if (config.storageBackend === 's3') {
    // loadConfig refuses the s3 backend without a bucket, so bucket is set here.
    return new S3Storage({ ...config.s3, bucket: config.s3.bucket! });
  }
  const local = new LocalStorage({
    root: config.storagePath,
    signingKey: opts.signingKey,
    minFreeBytes: config.minFreeBytes,
  });
  await local.init();
  return local;
}
