import type Valkey from 'iovalkey'
import type { ValkeyClusterConfig } from './config'

/** How a failure is answered: a connection that did not come up is temporary (503), a refused command is not (500). */
export type FailureKind = 'unreachable' | 'failed'

/** A failure with a message safe to show: no addresses, no credentials, no server text. */
export interface Failure { kind: FailureKind, message: string }

/**
 * Describes an error from a connection or a command without leaking addresses or secrets: the
 * raw error goes to the server log (by the caller), the API shows only this.
 */
export function describeFailure(error: unknown): Failure {
  const e = error as { code?: string, message?: string, name?: string }
  const text = String(e?.message ?? '')
  const code = e?.code ?? ''
  if (code === 'ECONNREFUSED') return { kind: 'unreachable', message: 'connection refused' }
  if (code === 'ETIMEDOUT' || /timed? ?out/i.test(text)) return { kind: 'unreachable', message: 'timed out' }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { kind: 'unreachable', message: 'host name not found' }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return { kind: 'unreachable', message: 'host unreachable' }
  if (code === 'ECONNRESET' || code === 'EPIPE' || /Connection is closed|connection closed/i.test(text)) return { kind: 'unreachable', message: 'connection closed' }
  if (/certificate|SSL|TLS|self.signed/i.test(text) || /^ERR_TLS|^CERT_|^DEPTH_ZERO|^UNABLE_TO/.test(code)) return { kind: 'failed', message: 'TLS handshake failed (check the cluster\'s CA file, or its insecure setting in a lab)' }
  if (/^(NOAUTH|WRONGPASS)/.test(text) || /invalid (username|password)|AUTH.*(failed|without)/i.test(text)) return { kind: 'failed', message: 'authentication failed (check the cluster\'s username and password)' }
  if (/^NOPERM/.test(text)) return { kind: 'failed', message: 'permission denied (the user needs CLUSTER NODES, INFO and DBSIZE)' }
  if (/cluster support disabled/i.test(text)) return { kind: 'failed', message: 'cluster mode is disabled on the server (a standalone server is watched with VALKEY_USE_CLUSTER=false or use_cluster: false)' }
  if (/^LOADING/.test(text)) return { kind: 'unreachable', message: 'the node is loading its data' }
  return { kind: 'failed', message: 'unexpected error (the server log has the details)' }
}

/**
 * Runs `work` on a short-lived direct connection to one node, with the cluster's credentials and
 * TLS, and closes it afterwards whatever happens. No retries, no offline queue: a node that does
 * not answer within `timeoutMs` fails this poll only.
 */
export async function withNode<T>(cfg: ValkeyClusterConfig, host: string, port: number, timeoutMs: number, work: (client: Valkey) => Promise<T>): Promise<T> {
  // Loaded on first use: a server that watches no Valkey cluster never holds the client library.
  const { default: ValkeyClient } = await import('iovalkey')
  const client = new ValkeyClient({
    host, port, username: cfg.username, password: cfg.password,
    tls: cfg.tls ? { ca: cfg.tls.ca, rejectUnauthorized: cfg.tls.rejectUnauthorized, servername: host } : undefined,
    connectTimeout: timeoutMs, commandTimeout: timeoutMs, lazyConnect: true, enableOfflineQueue: false, enableReadyCheck: false,
    maxRetriesPerRequest: 0, retryStrategy: () => null, connectionName: 'nodepulse',
  })
  // The failure reaches the caller through the rejected promise; without a listener iovalkey would log it too.
  // The first error says why a connection failed (connect() itself only says it closed).
  let cause: unknown
  client.on('error', (error) => {
    cause ??= error
  })
  try {
    await client.connect().catch((error) => {
      throw cause ?? error
    })
    return await work(client)
  }
  finally {
    client.disconnect()
  }
}

/** Splits "host:port" / "[v6]:port" as the parser writes addresses. */
export function splitAddress(address: string): { host: string, port: number } {
  const colon = address.lastIndexOf(':')
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(colon + 1)) }
}
