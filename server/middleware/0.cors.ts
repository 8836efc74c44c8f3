import { useInstance } from '../services/instance'
import { corsRoute, originAllowed, preflightHeaders } from '../services/cors'

/**
 * CORS for cross-origin stream clients (runs before auth.ts): a preflight from an allowed origin
 * is answered here; a stream request from another origin must be allowed and carry a token (never
 * a cookie), else 403/401; allowed token requests get Access-Control-Allow-Origin. Same-origin
 * requests and the CSRF rules for cookie writes (auth.ts) are untouched.
 */
export default defineEventHandler(async (event) => {
  const origin = getRequestHeader(event, 'origin')
  if (!origin) return
  const path = event.path.split('?')[0]!.replace(/\/+$/, '') || '/'
  const preflight = event.method === 'OPTIONS'
  const route = corsRoute(preflight ? getRequestHeader(event, 'access-control-request-method') ?? '' : event.method, path)
  if (!route || (URL.canParse(origin) && new URL(origin).host === (await requestOrigin(event)).host)) return
  const { config } = await useInstance()
  const allowed = originAllowed(config.corsOrigins, origin)
  const allowOrigin = config.corsOrigins === '*' ? '*' : origin
  if (preflight) {
    if (!allowed) throw createError({ statusCode: 403, message: `Cross-origin requests from ${origin} are not allowed: add it to NODEPULSE_CORS_ORIGINS` })
    setResponseHeaders(event, preflightHeaders(route, allowOrigin))
    return sendNoContent(event, 204)
  }
  const token = getRequestHeader(event, 'authorization') !== undefined || (route === 'stream' && typeof getQuery(event).token === 'string')
  // A stream token request from elsewhere stays the CSRF rules' and the bearer's business (auth.ts); it only gets no CORS headers.
  if (route === 'stream-token') {
    if (allowed && token) setResponseHeaders(event, { 'access-control-allow-origin': allowOrigin, 'vary': 'Origin' })
    return
  }
  if (!allowed) throw createError({ statusCode: 403, message: `Streams are not served to pages from ${origin}: add it to NODEPULSE_CORS_ORIGINS` })
  setResponseHeaders(event, { 'access-control-allow-origin': allowOrigin, 'vary': 'Origin' })
  if (!token) throw createError({ statusCode: 401, message: 'A cross-origin stream needs ?token=<stream token> (POST /api/v1/auth/stream-token) or Authorization: Bearer; cookies are not accepted from other origins' })
})
