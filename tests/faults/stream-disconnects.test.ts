/**
 * Fault injection: 1,000 forced disconnects of stream clients at random points while reports flow.
 * 40 clients read /stream/reports; each chunk their sockets deliver may be cut at a random byte
 * (the rest is lost, as on a dropped connection, often in the middle of a message), after which the
 * client reconnects with Last-Event-ID as EventSource does. A reference client that is never cut
 * tells what "every message" is: each client must end with exactly its list, every report once, in
 * order. Prints its figures.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { startServer, type RunningServer } from '../integration/support/server'
import { admin, createAgents, push, resumingReader, until } from './support'

const CLIENTS = 40
const DISCONNECTS = 1000
const AGENTS = 10
/** The chance that a chunk is cut: 1,000 cuts within some 20 s of reports on a busy 2-core machine. */
const CUT_CHANCE = 0.05

describe('1,000 forced disconnects of stream clients while reports flow', () => {
  let srv: RunningServer | undefined
  afterAll(() => srv?.stop())

  it('every client ends with every report exactly once, in order', async () => {
    srv = await startServer({ label: 'disconnects', env: { NODEPULSE_SAMPLE_INTERVAL: '3600', NODEPULSE_SSE_MAX_CLIENTS_PER_USER: '200' } })
    const base = srv.info.baseURL
    const { cookie } = await admin(srv)
    const agents = await createAgents(srv, cookie, AGENTS, 'disconnects')

    const reportIds = (list: number[], keys?: Set<string>) => (m: { event?: string, data?: string }) => {
      if (m.event !== 'reports') return
      const r = JSON.parse(m.data!) as { id: number, node_id: number, sampled_at: string }
      list.push(r.id)
      keys?.add(`${r.node_id}@${Date.parse(r.sampled_at)}`)
    }
    const expected: number[] = []
    const expectedKeys = new Set<string>()
    const reference = resumingReader(`${base}/stream/reports`, { headers: { cookie }, onMessage: reportIds(expected, expectedKeys) })
    let cuts = 0
    const received = Array.from({ length: CLIENTS }, () => [] as number[])
    const clients = received.map(list => resumingReader(`${base}/stream/reports`, {
      headers: { cookie },
      onMessage: reportIds(list),
      retryMs: 10,
      cutAt(chunk) {
        if (cuts >= DISCONNECTS || Math.random() >= CUT_CHANCE) return undefined
        cuts++
        return Math.floor(Math.random() * (chunk.length + 1))
      },
    }))
    const stop = new AbortController()
    let load: ReturnType<typeof push> | undefined
    const started = Date.now()
    try {
      // Connected means greeted: a client cut before its greeting's id has nothing to resume from
      // and reconnects as a new client (as EventSource does), so the load waits for every id.
      await until('every client greeted', () => reference.lastId() !== undefined && clients.every(c => c.lastId() !== undefined), 30_000)
      load = push(base, agents, stop.signal, { pauseMs: 10 })
      await until(`${DISCONNECTS} forced disconnects`, () => cuts >= DISCONNECTS, 120_000)
      stop.abort()
      await load.done
      const acked = [...load.acked].flatMap(([node, list]) => list.map(ts => `${node}@${ts}`))
      await until('the reference client has every acknowledged report', () => acked.every(k => expectedKeys.has(k)), 30_000)
      // Reports committed as the load was cut off may still be on their way: the newest is the reference's newest now.
      await until('every client caught up with the last report', () => received.every(l => l.at(-1) === expected.at(-1)), 60_000).catch((error: Error) => {
        const last = expected.at(-1)
        const behind = received.map((l, i) => ({ i, n: l.length, last: l.at(-1), lastId: clients[i]!.lastId(), connections: clients[i]!.connections() })).filter(c => c.last !== last)
        throw new Error(`${error.message}; reference ${expected.length} up to ${last}; behind: ${JSON.stringify(behind)}\n${srv!.output().slice(-2000)}`)
      })
      const seconds = (Date.now() - started) / 1000
      const connections = clients.reduce((n, c) => n + c.connections(), 0)
      const refused = clients.flatMap(c => c.refusals)
      const mismatched = received.filter(l => l.length !== expected.length || l.some((id, i) => id !== expected[i])).length
      console.log(`[faults] 1,000 forced stream disconnects: ${CLIENTS} clients, ${cuts} cuts at random bytes, ${connections} connections (refused: ${refused.length ? refused.join(', ') : 'none'}); ${acked.length} reports acknowledged, ${expected.length} on the reference stream (the rest committed as the load was cut off); clients with a missing, repeated or out-of-order report: ${mismatched}; ${seconds.toFixed(1)} s`)

      expect(cuts).toBe(DISCONNECTS)
      expect(acked.length).toBeGreaterThan(1000)
      expect(refused).toEqual([])
      for (const list of received) expect(list).toEqual(expected)
    }
    finally {
      stop.abort()
      await load?.done
      await Promise.all([reference, ...clients].map(c => c.close()))
    }
  }, 180_000)
})
