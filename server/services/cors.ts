/**
 * Cross-origin stream clients (a dashboard page served elsewhere, like seed 001's HTML example):
 * which requests get CORS headers. Only token-authenticated ones — a `?token=` stream token or
 * `Authorization: Bearer` — from an origin in NODEPULSE_CORS_ORIGINS; credentials are never
 * allowed (no Access-Control-Allow-Credentials), so a browser never sends or exposes cookies.
 */

/** The requests a cross-origin page may make: the streams, and getting a stream token with a bearer token. */
export type CorsRoute = 'stream' | 'stream-token'

const STREAM_TOKEN = '/api/v1/auth/stream-token'

/** Whether a path is an event stream (seed 000, 001 and 002 streams). */
export const isStreamPath = (path: string): boolean => path.endsWith('/stream') || path.startsWith('/stream/')

/** The CORS route of a request (`method` the asked one for a preflight), or undefined for any other. */
export function corsRoute(method: string, path: string): CorsRoute | undefined {
  if ((method === 'GET' || method === 'HEAD') && isStreamPath(path)) return 'stream'
  if (method === 'POST' && path === STREAM_TOKEN) return 'stream-token'
  return undefined
}

/** Whether `origin` may read: `*` allows any. */
export const originAllowed = (allowed: string[] | '*', origin: string): boolean => allowed === '*' || allowed.includes(origin.toLowerCase())

/** The headers a preflight for `route` is answered with. */
export function preflightHeaders(route: CorsRoute, allowOrigin: string): Record<string, string> {
  return {
    'access-control-allow-origin': allowOrigin,
    'access-control-allow-methods': route === 'stream' ? 'GET' : 'POST',
    'access-control-allow-headers': route === 'stream' ? 'Authorization, Last-Event-ID, Cache-Control, Accept' : 'Authorization, Content-Type',
    'access-control-max-age': '600',
    'vary': 'Origin',
  }
}
