import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { readConfigFile } from './configFile'
import type { HistoryTier } from '../../shared/contracts/history'
import { DEFAULT_HISTORY_TIERS, parseHistoryTiers } from './history/tiers'
import { NO_CLUSTER, parseClusterConfig, type ClusterConfig } from './federation/config'
import { parseValkeyConfig, valkeyFromEnv, type ValkeyClusterConfig } from './valkey/config'

export interface Config {
  databaseUrl?: string
  dataDir: string
  adminUser: string
  adminPassword?: string
  sessionSecret?: string
  secureCookies: boolean
  sampleIntervalSeconds: number
  diskPath: string
  staleAfterSeconds: number
  unreachableAfterSeconds: number
  /** A node added but not reported yet is pending this long: no unreachable, no incident, no cluster degraded. */
  pendingGraceSeconds: number
  streamTokenTtlSeconds: number
  /** Days the event log (and finished webhook deliveries) are kept; samples follow historyTiers. */
  retentionDays: number
  /** NODEPULSE_HISTORY_TIERS: raw samples' retention, then each rollup tier's width and retention. */
  historyTiers: HistoryTier[]
  masterHostname: string
  loginMaxAttempts: number
  heartbeatSeconds: number
  clientBufferBytes: number
  metricsPublic: boolean
  maxClients: number
  /** Streams one user (or one API token without a user) may hold open at once. */
  maxClientsPerUser: number
  /** Rows the request log keeps (the newest), NODEPULSE_REQUEST_LOG_ROWS. */
  requestLogRows: number
  /** NODEPULSE_CORS_ORIGINS: origins whose pages may read the streams with a token (`*`: any); none by default. */
  corsOrigins: string[] | '*'
  /** Behind a reverse proxy: X-Forwarded-Host/-Proto name the origin and X-Forwarded-For's last entry the client. */
  trustProxy: boolean
  /** Webhook deliveries to private, loopback and link-local addresses are refused (checked after DNS). */
  webhookBlockPrivate: boolean
  statsIntervalSeconds: number
  logsIntervalSeconds: number
  nodesIntervalSeconds: number
  replayLimit: number
  windowSeconds: number
  windowCount: number
  webhookTimeoutSeconds: number
  /** Hours a failed notification keeps being retried (fractions allowed; 0: one attempt). */
  webhookRetryHours: number
  /** The server's address as agents reach it (install commands, /agent/version); else each request's own origin. */
  publicUrl?: string
  /** Watched Valkey/Redis clusters: VALKEY_URL's (named "valkey") and the config file's `valkey:` list; empty when none is configured. */
  valkey: ValkeyClusterConfig[]
  valkeyPollIntervalSeconds: number
  valkeyTimeoutSeconds: number
  /** Seed 003's aggregation: the `cluster:` block of the YAML file at NODEPULSE_CONFIG. */
  cluster: ClusterConfig
}

type Env = Record<string, string | undefined>

function num(env: Env, key: string, fallback: number, min: number, max: number): number {
  const raw = env[key]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${key}=${raw} is invalid: expected a number from ${min} to ${max}`)
  }
  return value
}

function url(env: Env, key: string): string | undefined {
  const raw = env[key]
  if (!raw) return undefined
  if (!URL.canParse(raw) || !/^https?:$/.test(new URL(raw).protocol) || new URL(raw).search || new URL(raw).hash) {
    throw new Error(`${key}=${raw} is invalid: expected an http:// or https:// URL without ?query or #fragment (e.g. https://nodepulse.example.com)`)
  }
  const u = new URL(raw)
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`
}

/**
 * NODEPULSE_CORS_ORIGINS: `*`, or origins separated by commas or spaces (`https://dash.example.com`,
 * `http://127.0.0.1:8080`): scheme, host and port only, compared exactly.
 */
export function parseCorsOrigins(raw: string | undefined): string[] | '*' {
  const entries = (raw ?? '').split(/[\s,]+/).filter(Boolean)
  if (entries.length === 1 && entries[0] === '*') return '*'
  return entries.map((entry) => {
    const u = URL.canParse(entry) ? new URL(entry) : undefined
    if (!u || !/^https?:$/.test(u.protocol) || u.origin !== entry.replace(/\/$/, '').toLowerCase()) {
      throw new Error(`NODEPULSE_CORS_ORIGINS=${raw} is invalid: "${entry}" is not an origin; give * or origins like https://dash.example.com, http://127.0.0.1:8080 (scheme, host and port, no path)`)
    }
    return u.origin
  })
}

/** Reads NodePulse's settings from the environment; a bad value stops start-up with a message naming it. */
export function loadConfig(env: Env = process.env): Config {
  // NUXT_SESSION_PASSWORD is nuxt-auth-utils' name for the same secret, read when ours is unset.
  const secretVar = env.NODEPULSE_SESSION_SECRET ? 'NODEPULSE_SESSION_SECRET' : 'NUXT_SESSION_PASSWORD'
  const sessionSecret = env[secretVar] || undefined
  if (sessionSecret && sessionSecret.length < 32) {
    throw new Error(`${secretVar} must be at least 32 characters long`)
  }
  if (env.NODEPULSE_WEBHOOK_MAX_ATTEMPTS !== undefined && env.NODEPULSE_WEBHOOK_RETRY_HOURS === undefined) {
    // Ignoring it would quietly change how long an operator's alerts are retried.
    throw new Error('NODEPULSE_WEBHOOK_MAX_ATTEMPTS is no longer read: a failed notification is retried for NODEPULSE_WEBHOOK_RETRY_HOURS (default 1, backoff capped at 5 min); set that instead and remove NODEPULSE_WEBHOOK_MAX_ATTEMPTS')
  }
  const file = readConfigFile(env.NODEPULSE_CONFIG || undefined)
  const valkey = valkeyFromEnv(env)
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.NODEPULSE_DATA_DIR?.startsWith('memory://') ? env.NODEPULSE_DATA_DIR : resolve(env.NODEPULSE_DATA_DIR || '.data/db'),
    adminUser: env.NODEPULSE_ADMIN_USER || 'admin',
    adminPassword: env.NODEPULSE_ADMIN_PASSWORD || undefined,
    sessionSecret,
    secureCookies: env.NODEPULSE_SECURE_COOKIES === 'true',
    sampleIntervalSeconds: num(env, 'NODEPULSE_SAMPLE_INTERVAL', 5, 1, 3600),
    diskPath: env.NODEPULSE_DISK_PATH || '/',
    staleAfterSeconds: num(env, 'NODEPULSE_STALE_AFTER', 300, 1, 86_400 * 30),
    unreachableAfterSeconds: num(env, 'NODEPULSE_UNREACHABLE_AFTER', 60, 1, 86_400 * 30),
    pendingGraceSeconds: num(env, 'NODEPULSE_PENDING_GRACE', 600, 0, 86_400 * 30),
    streamTokenTtlSeconds: num(env, 'NODEPULSE_STREAM_TOKEN_TTL', 60, 5, 86_400),
    retentionDays: num(env, 'NODEPULSE_RETENTION_DAYS', 7, 1, 3650),
    historyTiers: parseHistoryTiers(env.NODEPULSE_HISTORY_TIERS || DEFAULT_HISTORY_TIERS),
    masterHostname: env.NODEPULSE_HOSTNAME || hostname(),
    loginMaxAttempts: num(env, 'NODEPULSE_LOGIN_MAX_ATTEMPTS', 10, 1, 10_000),
    heartbeatSeconds: num(env, 'NODEPULSE_HEARTBEAT_INTERVAL', 15, 1, 300),
    metricsPublic: env.NODEPULSE_METRICS_PUBLIC === 'true',
    maxClients: num(env, 'NODEPULSE_SSE_MAX_CLIENTS', 1000, 1, 1_000_000),
    maxClientsPerUser: num(env, 'NODEPULSE_SSE_MAX_CLIENTS_PER_USER', 20, 1, 1_000_000),
    trustProxy: env.NODEPULSE_TRUST_PROXY === 'true',
    requestLogRows: num(env, 'NODEPULSE_REQUEST_LOG_ROWS', 10_000, 100, 10_000_000),
    corsOrigins: parseCorsOrigins(env.NODEPULSE_CORS_ORIGINS),
    webhookBlockPrivate: env.NODEPULSE_WEBHOOK_BLOCK_PRIVATE === 'true',
    statsIntervalSeconds: num(env, 'NODEPULSE_STREAM_STATS_INTERVAL', 2, 0.1, 3600),
    logsIntervalSeconds: num(env, 'NODEPULSE_STREAM_LOGS_INTERVAL', 1, 0.1, 3600),
    nodesIntervalSeconds: num(env, 'NODEPULSE_STREAM_NODES_INTERVAL', 5, 0.1, 3600),
    replayLimit: num(env, 'NODEPULSE_REPLAY_LIMIT', 10_000, 1, 1_000_000),
    windowSeconds: num(env, 'NODEPULSE_WINDOW_SECONDS', 60, 1, 86_400),
    windowCount: num(env, 'NODEPULSE_WINDOW_COUNT', 60, 1, 10_000),
    clientBufferBytes: num(env, 'NODEPULSE_SSE_CLIENT_BUFFER', 1024 * 1024, 16 * 1024, 256 * 1024 * 1024),
    webhookTimeoutSeconds: num(env, 'NODEPULSE_WEBHOOK_TIMEOUT', 10, 1, 300),
    webhookRetryHours: num(env, 'NODEPULSE_WEBHOOK_RETRY_HOURS', 1, 0, 168),
    publicUrl: url(env, 'NODEPULSE_PUBLIC_URL'),
    valkey: [...valkey, ...(file ? parseValkeyConfig(file.text, file.name, valkey.map(c => c.name)) : [])],
    valkeyPollIntervalSeconds: num(env, 'VALKEY_POLL_INTERVAL', 10, 0.5, 3600),
    valkeyTimeoutSeconds: num(env, 'VALKEY_TIMEOUT', 5, 0.1, 60),
    cluster: file ? parseClusterConfig(file.text, file.name) : NO_CLUSTER,
  }
}
