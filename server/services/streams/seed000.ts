import type { IncomingMessage, ServerResponse } from 'node:http'
import type { MasterMetrics, NodeDeletedMessage, NodeDetail, NodeStatsSnapshot, NodeStreamSnapshot, StreamConnected } from '../../../shared/contracts/seed000'
import { describeError } from '../logSafe'
import { readOs } from '../master'
import { toNodeStats, type NodeState, type Registry } from '../registry'
import { startedInstance } from '../started'
import type { StatusThresholds } from '../status'
import { encodeSse, type Hub } from './hub'
import { createNodeDeltas } from './nodeDeltas'

export interface StreamsOptions extends StatusThresholds { masterId: number }

interface Ticker {
  timer: NodeJS.Timeout
  /** The newest encoded snapshot (a tick's or a joiner's) and the registry layout it was built from. */
  last: { at: number, layout: number, buf: Buffer } | null
  /** A build for joiners in progress: everyone who joins meanwhile waits for this one. */
  building: Promise<Buffer> | null
}

type Snapshot = NodeStatsSnapshot | NodeStreamSnapshot | MasterMetrics
type Builder = () => Promise<Snapshot> | Snapshot

/** What the per-node stream adds to a node's summary. */
export function nodeDetail(node: NodeState): NodeDetail {
  const s = node.latest
  const common = { kind: node.kind, labels: node.labels, created_at: node.createdAt.toISOString(), last_sample_at: s?.ts.toISOString() ?? null }
  if (node.kind === 'master') return { ...common, ...(s?.detail ?? {}) }
  return {
    ...common,
    ...(s?.detail ?? {}),
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
  // Bumped when a node is added, changed or removed (not on samples): a snapshot built before
  // that would show a joiner the old node list, so it is not reused.
  let layout = 0

  function stop(topic: string): void {
    const ticker = tickers.get(topic)
    if (!ticker) return
    clearTimeout(ticker.timer)
    tickers.delete(topic)
  }

  const deletedMessage = (id: number) => encodeSse({ event: 'deleted', id, timestamp: new Date().toISOString() } satisfies NodeDeletedMessage)

  hub.onTopicChange((topic, subscribers) => {
    if (subscribers === 0) stop(topic)
  })
  registry.subscribe(({ type, node }) => {
    if (type !== 'sampled') layout++
    if (type === 'deleted') hub.endTopics(t => t.startsWith(`node-stats:node:${node.id}:`), deletedMessage(node.id))
  })

  async function build(ticker: Ticker, builder: Builder): Promise<Buffer> {
    const builtFrom = layout
    const buf = encodeSse(await builder())
    ticker.last = { at: Date.now(), layout: builtFrom, buf }
    return buf
  }

  /**
   * The snapshot for a client joining between ticks: the newest one while it is younger than the
   * interval and the node list has not changed since, else one build shared by every joiner.
   */
  function current(ticker: Ticker, periodMs: number, builder: Builder): Promise<Buffer> {
    const last = ticker.last
    if (last && last.layout === layout && Date.now() - last.at < periodMs) return Promise.resolve(last.buf)
    ticker.building ??= build(ticker, builder).finally(() => {
      ticker.building = null
    })
    return ticker.building
  }

  function ensureTicker(topic: string, intervalSeconds: number, builder: Builder): Ticker {
    let ticker = tickers.get(topic)
    if (ticker) return ticker
    // Ticks follow a fixed timeline (start + k × interval): a tick delayed by a busy event loop
    // does not push the later ones back, so the interval holds on average however loaded we are.
    const period = intervalSeconds * 1000
    const start = Date.now()
    let k = 0
    const t: Ticker = { timer: setTimeout(tick, period), last: null, building: null }
    async function tick() {
      k = Math.max(k + 1, Math.floor((Date.now() - start) / period))
      if (tickers.get(topic) !== t) return
      // Nobody is listening (a first build failed, or every joiner left before subscribing).
      if (hub.count(topic) === 0) return stop(topic)
      t.timer = setTimeout(tick, Math.max(0, start + (k + 1) * period - Date.now()))
      try {
        hub.publishSnapshot(topic, await build(t, builder))
      }
      catch (error) {
        console.error(`[nodepulse] building the ${topic} snapshot failed: ${describeError(error)}`)
      }
    }
    tickers.set(topic, (ticker = t))
    return ticker
  }

  /**
   * Subscribes a client to a snapshot topic: `connected`, a current snapshot, then every tick.
   * `gone` says whether the stream's subject disappeared while the client was joining; if so the
   * client gets that final message instead of snapshots, and the stream ends.
   */
  async function open(req: IncomingMessage, res: ServerResponse, topic: string, intervalSeconds: number, builder: Builder, gone?: () => Buffer | null): Promise<void> {
    const ticker = ensureTicker(topic, intervalSeconds, builder)
    let first: Buffer
    try {
      first = await current(ticker, intervalSeconds * 1000, builder)
    }
    catch (error) {
      // No one subscribed: do not leave a ticker running for nobody.
      if (hub.count(topic) === 0) stop(topic)
      throw error
    }
    if (res.destroyed) {
      // The client left while its first snapshot was built.
      if (hub.count(topic) === 0) stop(topic)
      return
    }
    const connected = encodeSse({ event: 'connected', interval: intervalSeconds, timestamp: new Date().toISOString() } satisfies StreamConnected)
    const client = hub.subscribe(req, res, topic, [connected])
    const farewell = gone?.()
    if (farewell) return hub.endTopics(t => t === topic, farewell)
    hub.send(client, first)
    // Another subscriber may have left meanwhile and stopped the ticker.
    ensureTicker(topic, intervalSeconds, builder)
  }

  const now = () => ({ now: Date.now(), timestamp: new Date().toISOString() })
  const deltas = createNodeDeltas(hub, registry, opts)

  return {
    /** `/api/v1/metrics/nodes/stats/stream`: every node's summary, ordered by id. */
    all(req: IncomingMessage, res: ServerResponse, intervalSeconds: number) {
      return open(req, res, `node-stats:all:${intervalSeconds}`, intervalSeconds, (): NodeStatsSnapshot => {
        const t = now()
        return { timestamp: t.timestamp, nodes: registry.list().map(n => toNodeStats(n, t.now, opts)) }
      })
    },

    /**
     * `/api/v1/metrics/nodes/{id}/stats/stream`: one node with its detail; ends with a `deleted`
     * message when the node is deleted, also if that happens while the client is joining.
     */
    node(req: IncomingMessage, res: ServerResponse, id: number, intervalSeconds: number) {
      return open(req, res, `node-stats:node:${id}:${intervalSeconds}`, intervalSeconds, (): NodeStreamSnapshot => {
        const t = now()
        const node = registry.get(id)
        if (!node) return { timestamp: t.timestamp, node: null }
        return { timestamp: t.timestamp, node: { ...toNodeStats(node, t.now, opts), detail: nodeDetail(node) } }
      }, () => (registry.get(id) ? null : deletedMessage(id)))
    },

    /**
     * `/api/v1/metrics/node/stream`: seed 000's old master-only full metrics blob. Its figures are
     * the master's newest sample, so they change at NODEPULSE_SAMPLE_INTERVAL (`sampled_at` says when).
     */
    master(req: IncomingMessage, res: ServerResponse, intervalSeconds: number) {
      return open(req, res, `node-stats:master:${intervalSeconds}`, intervalSeconds, async () => masterBlob(registry.get(opts.masterId), await readOs()))
    },

    /** `/api/v1/metrics/nodes/stats/delta`: the dashboard's stream, a snapshot then only what changed (see nodeDeltas.ts). */
    delta: deltas.open,

    /** Stops every ticker (shutdown). */
    close() {
      for (const t of tickers.values()) clearTimeout(t.timer)
      tickers.clear()
      deltas.close()
    },
  }
}

export type NodeStreams = ReturnType<typeof createNodeStreams>

const running = startedInstance<NodeStreams>()
/** The running seed 000 snapshot streams; 503 while there are none. */
export const useNodeStreams = running.use
/** Sets (or, with undefined, clears) the running snapshot streams. */
export const setNodeStreams = running.set

/** The master's full metrics: cpu with per-core and load, memory with swap, every filesystem, network rates, os, uptime. */
export function masterBlob(master: NodeState | undefined, os: Record<string, string>): MasterMetrics {
  const s = master?.latest
  const d = s?.detail ?? {}
  const mem: Partial<NonNullable<typeof d.memory>> = d.memory ?? {}
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
