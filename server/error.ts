import type { NitroErrorHandler } from 'nitropack'
import { DomainError } from './services/errors'
import { describeError } from './services/logSafe'

/**
 * Every error leaves as JSON `{statusCode, statusMessage, message, data?}`: an HTTP error a handler
 * threw, or a service's domain error (`server/services/errors.ts`) with its status and message.
 * Unexpected errors are logged once with their request and answered with a generic 500, never internals.
 */
export default <NitroErrorHandler> function (error, event) {
  const domain = error.cause instanceof DomainError ? error.cause : undefined
  const statusCode = domain?.statusCode ?? (error.statusCode || 500)
  const expected = domain !== undefined || statusCode < 500 || !error.unhandled
  if (!expected) console.error(`[nodepulse] ${event.method} ${event.path.split('?')[0]} failed: ${describeError(error.cause ?? error)}`)
  const body = {
    statusCode,
    statusMessage: getStatusMessage(statusCode),
    message: expected ? (domain ?? error).message : 'Internal server error; the server log has the details',
    ...(expected && !domain && error.data !== undefined ? { data: error.data } : {}),
  }
  if (domain?.retryAfterSeconds !== undefined) setResponseHeader(event, 'retry-after', domain.retryAfterSeconds)
  setResponseHeaders(event, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  setResponseStatus(event, statusCode, body.statusMessage)
  return send(event, JSON.stringify(body))
}

function getStatusMessage(code: number): string {
  const known: Record<number, string> = {
    400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict',
    413: 'Payload Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
  }
  return known[code] ?? 'Error'
}
