/**
 * The contracts' limits as plain numbers, without zod: the agent bundle imports these (and only
 * these), so it does not carry the schema library. ingest.ts and common.ts re-export them.
 */

/** Unix timestamps above this are taken as milliseconds, below as seconds. */
export const UNIX_MS_THRESHOLD = 1e12
/** How far ahead of the server's clock a reported time may be. */
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000

/** Seed 003's member API: the most rows one readings or observations answer carries. */
export const MAX_PAGE = 1000
/** Seed 003's member API: rows per page when `limit` is not given. */
export const DEFAULT_PAGE = 500

export const MAX_SAMPLES_PER_REPORT = 1000
/**
 * The most the agents put in one batch (their spool files are rewritten as samples arrive, so
 * they stay small); far below what the server takes.
 */
export const MAX_REPORT_BYTES = 64 * 1024
/**
 * The ingest route's body limit (every other route keeps 16 KB). A 1,000-sample catch-up batch of
 * a small host as shared/sampler.ts reads it is ~0.9 MB, of a large host (64 cores, 8 filesystems,
 * 4 interfaces, sensors) ~2.4 MB: 4 MiB takes the documented maximum with room, from any client.
 */
export const MAX_INGEST_BYTES = 4 * 1024 * 1024

/** How much host detail one sample may carry: enough for a large server, small enough to store per sample. */
export const DETAIL_LIMITS = {
  cores: 1024,
  filesystems: 8,
  interfaces: 32,
  temperatures: 64,
  /** Characters of a mount point, device, interface or sensor name. */
  name: 256,
} as const

/** A node label's name: 1–63 of letters, digits, ".", "-", "_", "/". */
export const LABEL_NAME = /^[\w.\-/]{1,63}$/
