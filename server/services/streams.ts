import type { IncomingMessage, ServerResponse } from 'node:http'
import type { NodeStats } from '../../shared/contracts'
import type { Hub } from './hub'
import { encodeSse } from './hub'
import { readOs } from './master'
import { toNodeStats, type NodeState, type Registry } from './registry'

export interface StreamsOptions { staleAfterSeconds: number, masterId: number }

interface Ticker { timer: NodeJS.Timeout, last: { at: number, buf: Buffer } | null }

type Builder = () => Promise<unknown> | unknown

/** Seed 000's per-node payload: the summary plus what this node has beyond it. */
export interface NodeDetailStats extends NodeStats { detail: Record<string, unknown> }

/** What the per-node stream adds to a node's summary. */
export function nodeDetail(node: NodeState): Record<string, unknown> {
  const s = node.latest
  const common = { kind: node.kind, labels: node.labels, created_at: node.createdAt.toISOString(), last_sample_at: s?.ts.toISOString() ?? null }
  if (node.kind === 'master') return { ...common, ...(s?.detail ?? {}) }
  return {
    ...common,
    reported: s && {
      cpu_percent: s.cpuPercent, memory_percent: s.memoryPercent, disk_percent: s.diskPercent,
      uptime_seconds: s.uptimeSeconds, active_backups: s.activeBackups, timestamp: s.ts.toISOString(),
    },
  }
}

/**
 * Seed 000's snapshot streams. One ticker per topic (stream kind + interval) builds and encodes
 * each snapshot once and the hub writes those bytes to every subscriber; a ticker stops when its
 * last subscriber leaves. No database query happens per client or per tick.
 */
export function createNodeStreams(hub: Hub, registry: Registry, opts: StreamsOptions) {
  const tickers = new Map<string, Ticker>()

  function stop(topic: string): void {
    const ticker = tickers.get(topic)
    if (!ticker) return
    clearTimeout(ticker.timer)
    tickers.delete(topic)
  }

  hub.onTopicChange((topic, subscribers) => {
    if (subscribers === 0) stop(topic)
  })
  registry.subscribe(({ type, node }) => {
    if (type === 'deleted') hub.endTopics(t => t.startsWith(`node-stats:node:${node.id}:`), encodeSse({ event: 'deleted', id: node.id, timestamp: new Date().toISOString() }))
  })

  const snapshot = async (build: Builder): Promise<Buffer> => encodeSse(await build())

  function ensureTicker(topic: string, intervalSeconds: number, build: Builder): Ticker {
    let ticker = tickers.get(topic)
    if (ticker) return ticker
    // Ticks follow a fixed timeline (start + k × interval): a tick delayed by a busy event loop
    // does not push the later ones back, so the interval holds on average however loaded we are.
    const period = intervalSeconds * 1000
    const start = Date.now()
    let k = 0
    const t: Ticker = { timer: setTimeout(tick, period), last: null }
    async function tick() {
      k = Math.max(k + 1, Math.floor((Date.now() - start) / period))
      if (tickers.get(topic) !== t) return
      t.timer = setTimeout(tick, Math.max(0, start + (k + 1) * period - Date.now()))
      try {
        const buf = await snapshot(build)
        t.last = { at: Date.now(), buf }
        hub.publishSnapshot(topic, buf)
      }
      catch (error) {
        console.error(`[nodepulse] building the ${topic} snapshot failed:`, error)
      }
    }
    tickers.set(topic, (ticker = t))
    return ticker
  }

  async function open(req: IncomingMessage, res: ServerResponse, topic: string, intervalSeconds: number, build: Builder): Promise<void> {
    const ticker = ensureTicker(topic, intervalSeconds, build)
    // A new subscriber gets a current snapshot at once: the ticker's if it is fresh, else one built now.
    const fresh = ticker.last && Date.now() - ticker.last.at < 1000 ? ticker.last.buf : await snapshot(build)
    if (res.destroyed) {
      // The client left while its first snapshot was built.
      if (hub.count(topic) === 0) stop(topic)
      return
    }
    const connected = encodeSse({ event: 'connected', interval: intervalSeconds, timestamp: new Date().toISOString() })
    const client = hub.subscribe(req, res, topic, [connected])
    hub.send(client, fresh)
    // Another subscriber may have left meanwhile and stopped the ticker.
    ensureTicker(topic, intervalSeconds, build)
  }

  const now = () => ({ now: Date.now(), timestamp: new Date().toISOString() })

  return {
    /** `/api/v1/metrics/nodes/stats/stream`: every node's summary, ordered by id. */
    all(req: IncomingMessage, res: ServerResponse, intervalSeconds: number) {
      return open(req, res, `node-stats:all:${intervalSeconds}`, intervalSeconds, () => {
        const t = now()
        return { timestamp: t.timestamp, nodes: registry.list().map(n => toNodeStats(n, t.now, opts.staleAfterSeconds)) }
      })
    },

    /** `/api/v1/metrics/nodes/{id}/stats/stream`: one node with its detail; ends when the node is deleted. */
    node(req: IncomingMessage, res: ServerResponse, id: number, intervalSeconds: number) {
      return open(req, res, `node-stats:node:${id}:${intervalSeconds}`, intervalSeconds, () => {
        const t = now()
        const node = registry.get(id)
        if (!node) return { timestamp: t.timestamp, node: null }
        const payload: NodeDetailStats = { ...toNodeStats(node, t.now, opts.staleAfterSeconds), detail: nodeDetail(node) }
        return { timestamp: t.timestamp, node: payload }
      })
    },

    /** `/api/v1/metrics/node/stream`: seed 000's old master-only full metrics blob. */
    master(req: IncomingMessage, res: ServerResponse, intervalSeconds: number) {
      return open(req, res, `node-stats:master:${intervalSeconds}`, intervalSeconds, async () => masterBlob(registry.get(opts.masterId), await readOs()))
    },

    /** Stops every ticker (shutdown). */
    close() {
      for (const t of tickers.values()) clearTimeout(t.timer)
      tickers.clear()
    },
  }
}

export type NodeStreams = ReturnType<typeof createNodeStreams>

type Detail = {
  load?: Record<string, number>
  cpu_cores?: number[]
  memory?: Record<string, number>
  disks?: unknown[]
  network?: unknown[]
}

/** The master's full metrics: cpu with per-core and load, memory with swap, every filesystem, network rates, os, uptime. */
export function masterBlob(master: NodeState | undefined, os: Record<string, string>) {
  const s = master?.latest
  const d = (s?.detail ?? {}) as Detail
  const mem = d.memory ?? {}
  const swapTotal = mem.swap_total_bytes ?? 0
  return {
    timestamp: new Date().toISOString(),
    hostname: master?.hostname ?? os.hostname,
    sampled_at: s?.ts.toISOString() ?? null,
    cpu: { percent: s?.cpuPercent ?? null, cores: d.cpu_cores ?? [], core_count: d.cpu_cores?.length ?? 0, load: d.load ?? null },
    memory: {
      percent: s?.memoryPercent ?? null, ...mem,
      swap_percent: swapTotal ? Math.round(((mem.swap_used_bytes ?? 0) / swapTotal) * 1000) / 10 : 0,
    },
    disk_percent: s?.diskPercent ?? null,
    disks: d.disks ?? [],
    network: d.network ?? [],
    os,
    uptime_seconds: s?.uptimeSeconds ?? null,
  }
}
