import type { Server } from 'node:http'
import type { Socket } from 'node:net'

/**
 * How long an idle keep-alive connection stays open. Node's default (5 s) is shorter than many
 * clients keep an idle socket for reuse (browsers, HTTP libraries and proxies that ignore the
 * `Keep-Alive: timeout=` hint): a request sent on a socket the server closes at that moment fails
 * with ECONNRESET, and a POST is not retried. An idle socket costs a file descriptor and a few KiB.
 */
export const KEEP_ALIVE_MS = 65_000

/**
 * Sets the keep-alive timeout on the server Nitro creates (its node preset takes no option for
 * it), from the first request's socket; headersTimeout must stay above it, as Node requires.
 */
export default defineNitroPlugin((nitroApp) => {
  let configured = false
  nitroApp.hooks.hook('request', (event) => {
    if (configured) return
    const server = (event.node.req.socket as Socket & { server?: Server }).server
    if (!server) return
    configured = true
    server.keepAliveTimeout = KEEP_ALIVE_MS
    server.headersTimeout = Math.max(server.headersTimeout, KEEP_ALIVE_MS + 1000)
  })
})
