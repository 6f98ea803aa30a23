/**
 * Wire types of the Sortie Recording API (docs/API.md "4. The recording
 * resource", "5. Routes"): the contract's own, from @sortie/contract. The
 * build inlines them into this package's .d.ts (tsup.config.ts).
 */
export type {
  CompletedPart,
  DownloadUrl,
  ErrorBody,
  ErrorCode,
  ListQuery,
  Page,
  PartTarget,
  PartsUrl,
  Recording,
  RecordingConfig,
  RecordingStatus,
} from '@sortie/contract';

/** A bearer token, or a function that gives one (called again after a 401). */
export type TokenSource = string | (() => string | Promise<string>);
