import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../server/services/config'

describe('loadConfig', () => {
  it('has working defaults with an empty environment', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({
      databaseUrl: undefined, dataDir: resolve('.data/db'), adminUser: 'admin', adminPassword: undefined, sessionSecret: undefined,
      secureCookies: false, sampleIntervalSeconds: 5, diskPath: '/', staleAfterSeconds: 300, unreachableAfterSeconds: 60, streamTokenTtlSeconds: 60,
      retentionDays: 7, loginMaxAttempts: 10, heartbeatSeconds: 15, clientBufferBytes: 1024 * 1024, metricsPublic: false,
      maxClients: 1000, statsIntervalSeconds: 2, logsIntervalSeconds: 1, nodesIntervalSeconds: 5, replayLimit: 10_000, windowSeconds: 60, windowCount: 60,
      webhookTimeoutSeconds: 10, webhookRetryHours: 1, maxClientsPerUser: 20, trustProxy: false, webhookBlockPrivate: false,
      requestLogRows: 10_000, corsOrigins: [],
    })
    expect(config.masterHostname.length).toBeGreaterThan(0)
  })

  it('reads the hardening settings (issue 14) and refuses a bad per-user stream cap', () => {
    expect(loadConfig({ NODEPULSE_SSE_MAX_CLIENTS_PER_USER: '3', NODEPULSE_TRUST_PROXY: 'true', NODEPULSE_WEBHOOK_BLOCK_PRIVATE: 'true' }))
      .toMatchObject({ maxClientsPerUser: 3, trustProxy: true, webhookBlockPrivate: true })
    expect(loadConfig({ NODEPULSE_TRUST_PROXY: 'yes' }).trustProxy).toBe(false)
    expect(() => loadConfig({ NODEPULSE_SSE_MAX_CLIENTS_PER_USER: '0' })).toThrow('NODEPULSE_SSE_MAX_CLIENTS_PER_USER=0 is invalid')
  })

  it('refuses the retired NODEPULSE_WEBHOOK_MAX_ATTEMPTS alone rather than ignore it, naming its successor', () => {
    expect(() => loadConfig({ NODEPULSE_WEBHOOK_MAX_ATTEMPTS: '8' })).toThrow('NODEPULSE_WEBHOOK_MAX_ATTEMPTS is no longer read: a failed notification is retried for NODEPULSE_WEBHOOK_RETRY_HOURS')
    expect(loadConfig({ NODEPULSE_WEBHOOK_MAX_ATTEMPTS: '8', NODEPULSE_WEBHOOK_RETRY_HOURS: '2' }).webhookRetryHours).toBe(2)
  })

  it('reads every setting', () => {
    expect(loadConfig({
      DATABASE_URL: 'postgres://x@h/db', NODEPULSE_DATA_DIR: 'memory://', NODEPULSE_ADMIN_USER: 'root', NODEPULSE_ADMIN_PASSWORD: 'pw',
      NODEPULSE_SESSION_SECRET: 's'.repeat(32), NODEPULSE_SECURE_COOKIES: 'true', NODEPULSE_SAMPLE_INTERVAL: '2', NODEPULSE_DISK_PATH: '/srv',
      NODEPULSE_STALE_AFTER: '30', NODEPULSE_UNREACHABLE_AFTER: '20', NODEPULSE_PENDING_GRACE: '90', NODEPULSE_STREAM_TOKEN_TTL: '5', NODEPULSE_RETENTION_DAYS: '3', NODEPULSE_HISTORY_TIERS: 'raw:7d,1h:1y', NODEPULSE_HOSTNAME: 'hub', NODEPULSE_LOGIN_MAX_ATTEMPTS: '4',
      NODEPULSE_HEARTBEAT_INTERVAL: '7', NODEPULSE_SSE_CLIENT_BUFFER: '65536', NODEPULSE_METRICS_PUBLIC: 'true',
      NODEPULSE_SSE_MAX_CLIENTS: '50', NODEPULSE_STREAM_STATS_INTERVAL: '0.5', NODEPULSE_STREAM_LOGS_INTERVAL: '3', NODEPULSE_STREAM_NODES_INTERVAL: '9',
      NODEPULSE_REPLAY_LIMIT: '77', NODEPULSE_WINDOW_SECONDS: '30', NODEPULSE_WINDOW_COUNT: '10',
      NODEPULSE_WEBHOOK_TIMEOUT: '3', NODEPULSE_WEBHOOK_RETRY_HOURS: '0.5', NODEPULSE_PUBLIC_URL: 'https://np.example.com/base/',
      VALKEY_URL: 'redis://10.0.1.100:7000', VALKEY_POLL_INTERVAL: '2', VALKEY_TIMEOUT: '1.5',
      NODEPULSE_SSE_MAX_CLIENTS_PER_USER: '4', NODEPULSE_TRUST_PROXY: 'true', NODEPULSE_WEBHOOK_BLOCK_PRIVATE: 'true',
      NODEPULSE_REQUEST_LOG_ROWS: '500', NODEPULSE_CORS_ORIGINS: 'https://dash.example.com',
    })).toEqual({
      databaseUrl: 'postgres://x@h/db', dataDir: 'memory://', adminUser: 'root', adminPassword: 'pw', sessionSecret: 's'.repeat(32),
      secureCookies: true, sampleIntervalSeconds: 2, diskPath: '/srv', staleAfterSeconds: 30, unreachableAfterSeconds: 20, pendingGraceSeconds: 90, streamTokenTtlSeconds: 5,
      retentionDays: 3, historyTiers: [{ name: 'raw', width_seconds: 0, retention_seconds: 604_800 }, { name: '1h', width_seconds: 3600, retention_seconds: 31_536_000 }],
      masterHostname: 'hub', loginMaxAttempts: 4, heartbeatSeconds: 7, clientBufferBytes: 65536, metricsPublic: true,
      maxClients: 50, maxClientsPerUser: 4, trustProxy: true, requestLogRows: 500, corsOrigins: ['https://dash.example.com'], webhookBlockPrivate: true, statsIntervalSeconds: 0.5, logsIntervalSeconds: 3, nodesIntervalSeconds: 9, replayLimit: 77, windowSeconds: 30, windowCount: 10,
      webhookTimeoutSeconds: 3, webhookRetryHours: 0.5, publicUrl: 'https://np.example.com/base',
      valkey: [{ name: 'valkey', seeds: [{ host: '10.0.1.100', port: 7000 }], useCluster: true, username: undefined, password: undefined, tls: null }],
      valkeyPollIntervalSeconds: 2, valkeyTimeoutSeconds: 1.5,
      cluster: { enabled: true, intervalSeconds: 60, timeoutSeconds: 5, discovery: 'manual', members: [], mdns: { announce: false, name: hostname(), tokens: {} } },
    })
  })

  it('takes NODEPULSE_PUBLIC_URL as an http(s) URL only', () => {
    expect(loadConfig({}).publicUrl).toBeUndefined()
    expect(loadConfig({ NODEPULSE_PUBLIC_URL: 'http://10.0.0.5:3000' }).publicUrl).toBe('http://10.0.0.5:3000')
    expect(() => loadConfig({ NODEPULSE_PUBLIC_URL: 'nodepulse.example.com' })).toThrow('NODEPULSE_PUBLIC_URL=nodepulse.example.com is invalid')
    expect(() => loadConfig({ NODEPULSE_PUBLIC_URL: 'ftp://x' })).toThrow('NODEPULSE_PUBLIC_URL=ftp://x is invalid')
  })

  it('reads Valkey seeds from VALKEY_URL: a comma list of host:port or URLs, credentials from the URL or VALKEY_USERNAME/PASSWORD, TLS', () => {
    expect(loadConfig({}).valkey).toEqual([])
    expect(loadConfig({}).valkeyPollIntervalSeconds).toBe(10)
    expect(loadConfig({ VALKEY_URL: 'redis://app:s%40cret@cache-a:7000,cache-b:7001, [::1]:7002' }).valkey).toEqual([{
      name: 'valkey', seeds: [{ host: 'cache-a', port: 7000 }, { host: 'cache-b', port: 7001 }, { host: '::1', port: 7002 }],
      useCluster: true, username: 'app', password: 's@cret', tls: null,
    }])
    expect(loadConfig({ VALKEY_URL: 'redis://u:p@a:1', VALKEY_USERNAME: 'ops', VALKEY_PASSWORD: 'pw', VALKEY_USE_CLUSTER: 'false' }).valkey[0])
      .toMatchObject({ username: 'ops', password: 'pw', useCluster: false })
    expect(loadConfig({ VALKEY_URL: 'rediss://a' }).valkey[0]).toMatchObject({ seeds: [{ host: 'a', port: 6379 }], tls: { rejectUnauthorized: true } })
    expect(loadConfig({ VALKEY_URL: 'rediss://a:1', VALKEY_TLS_INSECURE: 'true' }).valkey[0]!.tls).toEqual({ ca: undefined, rejectUnauthorized: false })
    const ca = new URL('./fixtures/valkey/nodes-ok.txt', import.meta.url).pathname
    expect(loadConfig({ VALKEY_URL: 'a:1', VALKEY_TLS_CA: ca }).valkey[0]!.tls?.ca).toContain('127.0.0.1:27110')
  })

  it('stops with a message naming a bad Valkey setting, without its password', () => {
    expect(() => loadConfig({ VALKEY_URL: 'http://u:secret@a:1' })).toThrow('VALKEY_URL has an invalid address "http://…@a:1"')
    expect(() => loadConfig({ VALKEY_URL: 'a:99999' })).toThrow('VALKEY_URL has an invalid address "a:99999"')
    expect(() => loadConfig({ VALKEY_URL: 'a:1', VALKEY_TLS_CA: '/nonexistent/ca.pem' })).toThrow('VALKEY_TLS_CA=/nonexistent/ca.pem cannot be read: ENOENT')
    expect(() => loadConfig({ VALKEY_POLL_INTERVAL: '0' })).toThrow('VALKEY_POLL_INTERVAL=0 is invalid')
  })

  it('treats empty values as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', NODEPULSE_STALE_AFTER: '' })).toMatchObject({ databaseUrl: undefined, staleAfterSeconds: 300 })
  })

  it('stops with a message naming a bad number', () => {
    expect(() => loadConfig({ NODEPULSE_STALE_AFTER: 'soon' })).toThrow('NODEPULSE_STALE_AFTER=soon is invalid: expected a number from 1 to 2592000')
    expect(() => loadConfig({ NODEPULSE_STREAM_TOKEN_TTL: '4' })).toThrow('NODEPULSE_STREAM_TOKEN_TTL=4 is invalid')
  })

  it('refuses a session secret shorter than 32 characters, naming the variable, and reads NUXT_SESSION_PASSWORD when ours is unset', () => {
    expect(() => loadConfig({ NODEPULSE_SESSION_SECRET: 'short' })).toThrow('NODEPULSE_SESSION_SECRET must be at least 32 characters')
    expect(() => loadConfig({ NUXT_SESSION_PASSWORD: 'short' })).toThrow('NUXT_SESSION_PASSWORD must be at least 32 characters')
    expect(loadConfig({ NUXT_SESSION_PASSWORD: 'n'.repeat(32) }).sessionSecret).toBe('n'.repeat(32))
    expect(loadConfig({ NODEPULSE_SESSION_SECRET: 's'.repeat(32), NUXT_SESSION_PASSWORD: 'n'.repeat(32) }).sessionSecret).toBe('s'.repeat(32))
  })
})
