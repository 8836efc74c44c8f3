/**
 * A webhook receiver on 127.0.0.1 (random port) for the webhook tests: it keeps every request and
 * answers with the status `respond` picks. It checks signatures the way a receiver's author would,
 * with node:crypto and the documented scheme, not with NodePulse's own code.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { IncidentView } from '../../../shared/contracts/incidents'
import type { EventView } from '../../../shared/contracts/seed002'

export interface WebhookBody {
  webhook: { id: number, name: string }
  event: EventView
  repeat: number
  incident?: IncidentView
  reminder?: string
}

export interface Received {
  method: string
  /** The request's path and query (chat services' receivers are told apart by them). */
  path: string
  headers: IncomingHttpHeaders
  /** The raw body, as signed. */
  raw: string
  /** The parsed JSON body: a webhook's payload, or another channel type's native message. */
  body: WebhookBody
  at: number
}

export interface Receiver {
  url: string
  received: Received[]
  /** Waits until `check` holds over what has arrived; fails after `ms`. */
  waitFor: (what: string, check: (received: Received[]) => boolean, ms?: number) => Promise<Received[]>
  close: () => Promise<void>
}

/** Whether a request carries a valid `X-NodePulse-Signature` for `secret` with a fresh timestamp. */
export function verifySignature(r: Received, secret: string, toleranceSeconds = 300): boolean {
  const timestamp = String(r.headers['x-nodepulse-timestamp'] ?? '')
  const signature = String(r.headers['x-nodepulse-signature'] ?? '')
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSeconds) return false
  const expected = Buffer.from('sha256=' + createHmac('sha256', secret).update(`${timestamp}.${r.raw}`).digest('hex'))
  const given = Buffer.from(signature)
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/**
 * Starts a receiver. `respond` gets each request and how many came before it, and returns the
 * status to answer (200 unless told), or `'hang'` to never answer.
 */
export async function startReceiver(respond: (r: Received, index: number) => number | 'hang' = () => 200): Promise<Receiver> {
  const received: Received[] = []
  const hanging = new Set<() => void>()
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      let body: WebhookBody
      try {
        // ntfy's messages are plain text: their receiver reads `raw`.
        body = JSON.parse(req.headers['content-type']?.startsWith('text/plain') ? '{}' : raw) as WebhookBody
      }
      catch {
        res.writeHead(400).end('not JSON')
        return
      }
      const r: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, raw, body, at: Date.now() }
      const status = respond(r, received.length)
      received.push(r)
      if (status === 'hang') {
        hanging.add(() => res.destroy())
        return
      }
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no')
    })
  })
  await new Promise<void>(done => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    async waitFor(what, check, ms = 15_000) {
      const end = Date.now() + ms
      while (!check(received)) {
        if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for the receiver to get: ${what} (got ${received.length}: ${received.map(r => (r.body.event ? `${r.body.event.event_type}#${r.body.event.id}/${r.body.repeat}` : `${r.method} ${r.path.replace(/\/bot[^/]+/, '/bot…')}`)).join(', ')})`)
        await new Promise(r => setTimeout(r, 25))
      }
      return received
    },
    async close() {
      hanging.forEach(end => end())
      server.closeAllConnections()
      await new Promise<void>(done => server.close(() => done()))
    },
  }
}
