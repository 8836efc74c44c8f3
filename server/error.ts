import type { NitroErrorHandler } from 'nitropack'

/**
 * Every error leaves as JSON `{statusCode, statusMessage, message, data?}`. Unexpected errors are
 * logged once with their request and answered with a generic 500, never internals.
 */
export default <NitroErrorHandler> function (error, event) {
  const statusCode = error.statusCode || 500
  const expected = statusCode < 500 || !error.unhandled
  if (!expected) console.error(`[nodepulse] ${event.method} ${event.path.split('?')[0]} failed:`, error.cause ?? error)
  const body = {
    statusCode,
    statusMessage: getStatusMessage(statusCode),
    message: expected ? error.message : 'Internal server error; the server log has the details',
    ...(expected && error.data !== undefined ? { data: error.data } : {}),
  }
  setResponseHeaders(event, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  setResponseStatus(event, statusCode, body.statusMessage)
  return send(event, JSON.stringify(body))
}

function getStatusMessage(code: number): string {
  const known: Record<number, string> = {
    400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict',
    413: 'Payload Too Large', 422: 'Unprocessable Entity', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
  }
  return known[code] ?? 'Error'
}
