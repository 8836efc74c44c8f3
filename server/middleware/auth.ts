import type { H3Event } from 'h3'
import { useApiTokens } from '../services/auth/apiTokens'
import { streamCredential, streamCredentials } from '../services/auth/streamTokens'
import { useInstance } from '../services/instance'

// Routes anyone may call: health, login, first-run setup. Agent ingest checks its node token itself.
const PUBLIC = [
  /^GET \/api\/health$/,
  /^POST \/api\/v1\/auth\/login$/,
  /^(GET|POST) \/api\/v1\/auth\/setup$/,
  /^POST \/api\/v1\/nodes\/[^/]+\/(stats|events)$/,
]
// Writes a viewer may make: about their own session, and acknowledging events (on-call work, not configuration).
const SELF_SERVICE = [/^POST \/api\/v1\/auth\/(logout|stream-token)$/, /^POST \/api\/v1\/events\/[^/]+\/ack$/]

const isStream = (path: string) => path.endsWith('/stream') || path.startsWith('/stream/')

function bearer(event: H3Event): string | undefined {
  const header = getRequestHeader(event, 'authorization')
  if (header) return /^Bearer\s+(\S+)$/i.exec(header)?.[1] ?? ''
  // EventSource cannot set headers: GET streams also take ?token= (prefer short-lived stream tokens).
  if (event.method === 'GET' && isStream(event.path.split('?')[0]!)) {
    const token = getQuery(event).token
    if (typeof token === 'string') return token
  }
  return undefined
}

/** Cookie-authenticated writes must come from our own origin (CSRF). */
function assertSameOrigin(event: H3Event): void {
  const origin = getRequestHeader(event, 'origin')
  const host = getRequestHost(event, { xForwardedHost: true })
  const sameHost = (o: string) => URL.canParse(o) && new URL(o).host === host
  if (getRequestHeader(event, 'sec-fetch-site') === 'cross-site' || (origin !== undefined && !sameHost(origin))) {
    throw createError({ statusCode: 403, message: 'Cross-origin request refused' })
  }
}

/** Authenticates every /api request and enforces read-for-viewers, write-for-admins. */
export default defineEventHandler(async (event) => {
  const path = event.path.split('?')[0]!.replace(/\/+$/, '') || '/'
  if (!path.startsWith('/api/') && !path.startsWith('/stream/') && path !== '/metrics') return
  const route = `${event.method} ${path}`
  const write = event.method !== 'GET' && event.method !== 'HEAD'
  // Bearer clients are not browsers riding a cookie, so CSRF does not apply to them.
  if (write && !getRequestHeader(event, 'authorization')) assertSameOrigin(event)
  if (PUBLIC.some(r => r.test(route))) return

  const { config } = await useInstance()
  if (path === '/metrics' && config.metricsPublic) return
  const token = bearer(event)
  const principal = token === undefined ? await principalFromSession(event) : token ? await (await useApiTokens()).verify(token) : undefined
  if (!principal) {
    throw createError({ statusCode: 401, message: token === undefined ? 'Authentication required: log in, or send Authorization: Bearer <token>' : 'Invalid or expired token' })
  }
  if (principal.streamOnly && !(event.method === 'GET' && isStream(path))) {
    throw createError({ statusCode: 401, message: 'A stream token only opens event streams; use an API token or log in' })
  }
  event.context.principal = principal
  if (isStream(path)) {
    // The stream ends when this session or token is revoked (checked on every heartbeat).
    const credential = streamCredential(principal)
    if (credential) streamCredentials.set(event.node.req, credential)
  }
  if (write && principal.role !== 'admin' && !SELF_SERVICE.some(r => r.test(route))) {
    throw createError({ statusCode: 403, message: 'This action needs the admin role; your account can only read' })
  }
})
