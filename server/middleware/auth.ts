import type { H3Event } from 'h3'
import { useApiTokens } from '../services/auth/apiTokens'
import { streamCredential, streamCredentials, streamOwner, streamOwners } from '../services/auth/streamTokens'
import { isStreamPath } from '../services/cors'
import { useInstance } from '../services/instance'

// Routes anyone may call: health, login, first-run setup, the page's own session check. Agent ingest checks its node token itself.
const PUBLIC = [
  /^GET \/api\/health$/,
  /^POST \/api\/v1\/auth\/login$/,
  /^(GET|POST) \/api\/v1\/auth\/setup$/,
  /^GET \/api\/v1\/auth\/session$/,
  /^POST \/api\/v1\/nodes\/[^/]+\/(stats|events)$/,
]
// Writes a viewer may make: about their own session, and acknowledging events (on-call work, not configuration).
const SELF_SERVICE = [/^POST \/api\/v1\/auth\/(logout|stream-token)$/, /^POST \/api\/v1\/events\/[^/]+\/ack$/]

const isStream = isStreamPath

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

const isJson = (type: string) => /^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)

/**
 * Cookie-authenticated writes (CSRF): a browser says where a request comes from with
 * Sec-Fetch-Site (only "same-origin" passes; same-site is a sibling host) and Origin (our host
 * only; X-Forwarded-Host counts only behind NODEPULSE_TRUST_PROXY). A request with neither is a
 * non-browser client or an old browser, and passes. Any body must be JSON: forms and text/plain,
 * the requests a page elsewhere can send without a CORS preflight, are refused (415).
 */
async function assertSameOrigin(event: H3Event): Promise<void> {
  const site = getRequestHeader(event, 'sec-fetch-site')
  const origin = getRequestHeader(event, 'origin')
  const host = (await requestOrigin(event)).host
  if ((site !== undefined && site !== 'same-origin') || (origin !== undefined && (!URL.canParse(origin) || new URL(origin).host !== host))) {
    throw createError({ statusCode: 403, message: 'Cross-origin request refused' })
  }
  const type = getRequestHeader(event, 'content-type')
  const hasBody = Number(getRequestHeader(event, 'content-length') ?? 0) > 0 || getRequestHeader(event, 'transfer-encoding') !== undefined
  if ((type !== undefined && !isJson(type)) || (hasBody && type === undefined)) {
    throw createError({ statusCode: 415, message: 'Send the request body as JSON (Content-Type: application/json)' })
  }
}

/** Authenticates every /api request and enforces read-for-viewers, write-for-admins. */
export default defineEventHandler(async (event) => {
  const path = event.path.split('?')[0]!.replace(/\/+$/, '') || '/'
  if (!path.startsWith('/api/') && !path.startsWith('/stream/') && path !== '/metrics') return
  const route = `${event.method} ${path}`
  const write = event.method !== 'GET' && event.method !== 'HEAD'
  // Bearer clients are not browsers riding a cookie, so CSRF does not apply to them.
  if (write && !getRequestHeader(event, 'authorization')) await assertSameOrigin(event)
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
    const owner = streamOwner(principal)
    if (owner) streamOwners.set(event.node.req, owner)
  }
  if (write && principal.role !== 'admin' && !SELF_SERVICE.some(r => r.test(route))) {
    throw createError({ statusCode: 403, message: 'This action needs the admin role; your account can only read' })
  }
})
