/**
 * The contracts' limits as plain numbers, without zod: the agent bundle imports these (and only
 * these), so it does not carry the schema library. ingest.ts and common.ts re-export them.
 */

/** Unix timestamps above this are taken as milliseconds, below as seconds. */
export const UNIX_MS_THRESHOLD = 1e12
/** How far ahead of the server's clock a reported time may be. */
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000

export const MAX_SAMPLES_PER_REPORT = 1000
export const MAX_REPORT_BYTES = 64 * 1024

/** How much host detail one sample may carry: enough for a large server, small enough to store per sample. */
export const DETAIL_LIMITS = {
  cores: 1024,
  filesystems: 8,
  interfaces: 32,
  temperatures: 64,
  /** Characters of a mount point, device, interface or sensor name. */
  name: 256,
} as const
