/**
 * `nodepulse agent --listen PORT`: the agent serves seed 003's member API for its one node, so an
 * aggregating NodePulse server can pull it like a member (shared/contracts/seed003.ts; the bodies
 * are those of server/services/federation/memberApi.ts):
 *
 * - `GET /api/health` (no token, like a server's): `{status, version, uptime_seconds, kind: 'agent'}`;
 * - `GET /api/nodes`: `{instance, nodes: [this host]}`;
 * - `GET /api/readings?since=&limit=`: the readings kept (cli/agent/readings.ts) after the cursor;
 * - `GET /api/observations?since=&limit=`: always empty (an agent records no events);
 * - `GET /api/stats`: totals and this node's share.
 *
 * Everything but health needs `Authorization: Bearer <listen token>`, compared in constant time.
 * Read-only: any other method is refused. Loaded only with --listen (the push-only agent never
 * loads it, nor node:crypto).
 */
import { promises as fsp } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { hostname as osHostname } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_PAGE, MAX_PAGE } from '../../shared/contracts/limits'
import type { MemberNodesBody, MemberStatsBody, NodeRef, ObservationsBody, ReadingsBody } from '../../shared/contracts/seed003'
import type { Log } from './log'
import type { ReadingStore, StoredReading } from './readings'


/** What `GET /api/health` of a listening agent answers. */
interface AgentHealth { status: 'ok', version: string, uptime_seconds: number, kind: 'agent' }
const CURSOR = /^(0|[1-9]\d{0,15})$/
const LIMIT = /^\d{1,7}$/
const INSTANCE_FILE = 'instance'

/** The agent's instance id, made once and kept in the spool directory: the `<instance>` of its node's source. */
export async function loadAgentInstance(dir: string): Promise<string> {
  const path = join(dir, INSTANCE_FILE)
  const kept = (await fsp.readFile(path, 'utf8').catch(() => '')).trim()
  if (/^[\w-]{8,64}$/.test(kept)) return kept
  const id = (await crypto()).randomUUID()
  await fsp.writeFile(path, `${id}\n`, { mode: 0o600 })
  return id
}

export interface ListenOptions {
  port: number
  /** undefined: every interface. */
  host: string | undefined
  /** undefined only with --listen-insecure. */
  token: string | undefined
  intervalSeconds: number
  version: string
  instance: string
  readings: ReadingStore
  log: Log
  /** The node's id on the server it pushes to (also shown to the aggregator), else 1. */
  nodeId: number
  hostname?: string
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message)
  }
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 405: 'Method Not Allowed', 500: 'Internal Server Error' }

function send(res: ServerResponse, status: number, body: unknown, head = false): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) })
  res.end(head ? undefined : text)
}

/** `?since=&limit=` as seed003's pageQuery reads them: 400 with the parameter's name otherwise. */
export function pageParams(params: URLSearchParams): { since: number | undefined, limit: number } {
  const since = params.get('since')
  const limit = params.get('limit')
  if (since !== null && !CURSOR.test(since)) throw new HttpError(400, 'Invalid query parameter since: must be a cursor a previous answer gave (next_cursor)')
  if (limit !== null && (!LIMIT.test(limit) || Number(limit) < 1 || Number(limit) > MAX_PAGE)) {
    throw new HttpError(400, `Invalid query parameter limit: must be a whole number from 1 to ${MAX_PAGE}`)
  }
  return { since: since === null ? undefined : Number(since), limit: limit === null ? DEFAULT_PAGE : Number(limit) }
}

/**
 * node:crypto, imported on first use: a static import would be hoisted to the top of the agent's
 * one-file bundle and load it into every agent, listening or not.
 */
const crypto = () => import('node:crypto')

/** Whether the Authorization header carries the token: compared as SHA-256 digests, in constant time whatever the lengths. */
export async function bearerMatches(header: string | undefined, token: string): Promise<boolean> {
  const { createHash, timingSafeEqual } = await crypto()
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  const digest = (s: string) => createHash('sha256').update(s).digest()
  return timingSafeEqual(digest(m?.[1] ?? ''), digest(token)) && m !== null
}

/** Starts the member API; resolves once it listens (rejects when the port cannot be bound). */
export async function startListener(opts: ListenOptions): Promise<{ port: number, close: () => Promise<void> }> {
  const started = performance.now()
  const host = opts.hostname ?? osHostname()
  const ref = (): NodeRef => ({ id: opts.nodeId, source: `agent:${opts.instance}`, hostname: host })
  // As the server's computeStatus: online while samples come (within three intervals), stale after, offline with none.
  const status = (latest: StoredReading | undefined) => {
    if (!latest) return 'offline' as const
    return Date.now() - Date.parse(latest.timestamp) <= Math.max(3 * opts.intervalSeconds, 15) * 1000 ? 'online' as const : 'stale' as const
  }

  // The bodies are seed003's contract types (type-only imports: the bundle carries no zod).
  async function answer(req: IncomingMessage): Promise<AgentHealth | MemberNodesBody | ReadingsBody | ObservationsBody | MemberStatsBody> {
    const url = new URL(req.url ?? '/', 'http://agent')
    const path = url.pathname.replace(/\/+$/, '') || '/'
    if (path === '/api/health') return { status: 'ok', version: opts.version, uptime_seconds: Math.round((performance.now() - started) / 1000), kind: 'agent' }
    const known = ['/api/nodes', '/api/readings', '/api/observations', '/api/stats']
    if (!known.includes(path)) throw new HttpError(404, `No such route: ${path} (this agent serves /api/health, ${known.join(', ')})`)
    if (opts.token !== undefined) {
      const header = req.headers.authorization
      if (!header) throw new HttpError(401, 'Authentication required: send Authorization: Bearer <the agent\'s listen token>')
      if (!(await bearerMatches(header, opts.token))) throw new HttpError(401, 'Invalid token')
    }
    const latest = opts.readings.latest
    switch (path) {
      case '/api/nodes':
        return {
          instance: opts.instance,
          nodes: [{ ...ref(), kind: 'agent', labels: {}, status: status(latest), last_seen: latest?.timestamp ?? null, member: null }],
        }
      case '/api/readings': {
        const q = pageParams(url.searchParams)
        const { readings, more } = await opts.readings.page(q.since ?? 0, q.limit)
        const node = ref()
        return {
          readings: readings.map(r => ({ ...r, node })),
          next_cursor: String(readings.at(-1)?.id ?? q.since ?? 0),
          more,
        }
      }
      case '/api/observations': {
        const q = pageParams(url.searchParams)
        return { observations: [], next_cursor: String(q.since ?? 0), more: false }
      }
      default: {
        const s = status(latest)
        const samples = opts.readings.count
        return {
          totals: { nodes: 1, online: s === 'online' ? 1 : 0, stale: s === 'stale' ? 1 : 0, offline: s === 'offline' ? 1 : 0, samples, events: 0 },
          nodes: [{
            ...ref(), kind: 'agent', member: null, status: s, last_seen: latest?.timestamp ?? null, samples, events: 0,
            cpu_percent: latest?.cpu_percent ?? null, memory_percent: latest?.memory_percent ?? null, disk_percent: latest?.disk_percent ?? null,
          }],
        }
      }
    }
  }

  const server = createServer((req, res) => {
    const head = req.method === 'HEAD'
    // Nothing is read from a request body: drain it so the connection can be reused.
    req.resume()
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD')
      send(res, 405, { statusCode: 405, statusMessage: STATUS_TEXT[405], message: 'This agent\'s API is read-only: GET only' })
      return
    }
    answer(req).then(
      body => send(res, 200, body, head),
      (error: unknown) => {
        const status = error instanceof HttpError ? error.status : 500
        if (!(error instanceof HttpError)) opts.log.warn(`listen: ${req.url?.split('?')[0]} failed: ${error instanceof Error ? error.message : String(error)}`)
        send(res, status, { statusCode: status, statusMessage: STATUS_TEXT[status], message: error instanceof HttpError ? error.message : 'Internal error; the agent\'s log has the details' }, head)
      },
    )
  })
  server.headersTimeout = 10_000
  server.requestTimeout = 30_000
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    }),
  }
}

/**
 * Announces `_nodepulse._tcp` on the port over mDNS (bonjour-service, imported only here, only
 * when asked); resolves to a stop function. A failure to announce is logged, never fatal.
 */
export async function announce(opts: { port: number, instance: string, version: string, name?: string, log: Log }): Promise<() => Promise<void>> {
  try {
    const { Bonjour } = await import('bonjour-service')
    const bonjour = new Bonjour(undefined, (error: Error) => opts.log.warn(`mDNS: ${error.message}`))
    const service = bonjour.publish({
      name: opts.name ?? `nodepulse-agent ${osHostname()}`,
      type: 'nodepulse',
      protocol: 'tcp',
      port: opts.port,
      // The keys a NodePulse server announces too (server/services/federation/discovery.ts): id, name, api.
      txt: { id: opts.instance, name: opts.name ?? osHostname(), api: '/api', kind: 'agent', version: opts.version },
    })
    service.on('error', (error: Error) => opts.log.warn(`mDNS: ${error.message}`))
    return () => new Promise<void>((resolve) => {
      bonjour.unpublishAll(() => bonjour.destroy(() => resolve()))
    })
  }
  catch (error) {
    opts.log.warn(`mDNS: not announcing _nodepulse._tcp (${error instanceof Error ? error.message : String(error)}); give --no-announce to stop trying`)
    return async () => {}
  }
}
