import { describe, expect, it } from 'vitest'
import { NODE_STATES, type NodeStats } from '../../shared/contracts/seed000'
import type { Labels } from '../../utils/labels'
import { applyNodeMessage, diffNodes, type NodeTable } from '../../utils/nodeDeltas'
import { createSummaryTally, filterNodes, orderByGroup, SORT_KEYS, sortNodes, summarize, type LabelMap, type StatusFilter } from '../../utils/nodeList'
import { createGridOrder, createNameOrder, type GridView } from '../../utils/nodeOrder'
import { seededRandom, type SeededRandom } from './random'


// Names and values that tie under the collator ('Web-2' and 'web-2'), sort naturally ('web-10' after 'web-9') or repeat.
const HOSTNAMES = ['web-1', 'web-2', 'Web-2', 'web-10', 'web-9', 'db-1', 'DB-1', 'cache', 'a=b', 'bench-42', 'bench-4']
const CLUSTERS = ['eu', 'EU', 'us', 'ap-2', 'ap-10']
const FIGURES = [null, 0, 10, 10, 55.5, 99]
const QUERIES = ['', 'web', 'WEB-1', '2', 'cluster=eu', 'cluster=', 'db eu', 'bench-4', 'zzz', 'env=prod web']

function randomNode(rng: SeededRandom, id: number): NodeStats {
  const state = rng.pick(NODE_STATES)
  return {
    id, hostname: rng.pick(HOSTNAMES), status: state === 'unreachable' ? 'online' : state === 'pending' ? 'offline' : state, state, is_master: id === 1,
    cpu_percent: rng.pick(FIGURES), memory_percent: rng.pick(FIGURES), disk_percent: rng.pick(FIGURES), uptime_seconds: 10,
    active_backups: rng.pick([null, 0, 1, 3]), last_seen: rng.next() < 0.2 ? null : `2026-12-02T06:0${Math.floor(rng.next() * 10)}:00.000Z`,
  }
}

function randomLabels(rng: SeededRandom, ids: number[]): LabelMap {
  const labels = new Map<number, Labels>()
  for (const id of ids) {
    if (rng.next() < 0.3) continue
    labels.set(id, rng.next() < 0.5 ? { cluster: rng.pick(CLUSTERS) } : { cluster: rng.pick(CLUSTERS), env: rng.pick(['prod', 'Prod', 'dev']) })
  }
  return labels
}

function randomView(rng: SeededRandom, labels: LabelMap): GridView {
  const status: StatusFilter = rng.next() < 0.5 ? 'all' : rng.pick(NODE_STATES)
  return { q: rng.pick(QUERIES), status, sort: rng.pick(SORT_KEYS), group: rng.pick(['', '', 'cluster', 'env']), labels }
}

/** A delta as the server sends it: some nodes changed (some renamed), some added, some removed. */
function randomDelta(rng: SeededRandom, table: NodeTable, nextId: () => number, timestamp: string) {
  const changed: NodeStats[] = []
  const removed: number[] = []
  for (const n of table.nodes) {
    const roll = rng.next()
    if (roll < 0.1) changed.push({ ...randomNode(rng, n.id), hostname: rng.next() < 0.8 ? n.hostname : rng.pick(HOSTNAMES) })
    else if (roll < 0.12 && n.id !== 1) removed.push(n.id)
  }
  const added = Math.floor(rng.next() * 3)
  for (let i = 0; i < added; i++) changed.push(randomNode(rng, nextId()))
  return { timestamp, changed, removed }
}

/** What the grid showed before it kept its order per changed node: a sort, a filter and a grouping of every node. */
const fullOrder = (nodes: readonly NodeStats[], v: GridView) => {
  const found = filterNodes(sortNodes(nodes, v.sort), v.q, v.status, v.labels)
  return v.group ? orderByGroup(found, v.group, v.labels) : found
}

describe('diffNodes', () => {
  it('finds the changed, added and removed nodes of two id-ordered lists by identity', () => {
    const [a, b, c, d] = [1, 2, 3, 4].map(id => randomNode(seededRandom(id), id)) as [NodeStats, NodeStats, NodeStats, NodeStats]
    const b2 = { ...b, cpu_percent: 1 }
    expect(diffNodes([a, b, c], [a, b2, d])).toEqual({ before: [b, c], after: [b2, d] })
    expect(diffNodes([a, b], [a, b])).toEqual({ before: [], after: [] })
    expect(diffNodes([], [a])).toEqual({ before: [], after: [a] })
    expect(diffNodes([a, c], [])).toEqual({ before: [a, c], after: [] })
  })
})

describe('createGridOrder and createSummaryTally against a full recompute', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`agree over 60 random deltas and view changes (seed ${seed})`, () => {
      const rng = seededRandom(seed)
      let id = 0
      const nextId = () => ++id
      const first = Array.from({ length: 40 + Math.floor(rng.next() * 80) }, () => randomNode(rng, nextId()))
      let table = applyNodeMessage({ timestamp: null, nodes: [] }, 'snapshot', { timestamp: 't0', nodes: first })
      let labels = randomLabels(rng, table.nodes.map(n => n.id))
      let view = randomView(rng, labels)
      const grid = createGridOrder()
      const tally = createSummaryTally()
      let streamDown = false
      for (let step = 1; step <= 60; step++) {
        table = applyNodeMessage(table, 'delta', randomDelta(rng, table, nextId, `t${step}`))
        const roll = rng.next()
        // Now and then the REST list is read again (new labels), the view changes or the stream drops.
        if (roll < 0.05) labels = randomLabels(rng, Array.from({ length: id }, (_, i) => i + 1))
        if (roll < 0.2) view = { ...randomView(rng, labels), labels }
        else if (roll < 0.25) streamDown = !streamDown
        if (step % 17 === 0) table = applyNodeMessage(table, 'snapshot', { timestamp: `s${step}`, nodes: table.nodes.map(n => ({ ...n })) })

        expect(grid.sync(table.nodes, view).map(n => n.id), `step ${step}`).toEqual(fullOrder(table.nodes, view).map(n => n.id))
        const kept = tally(table.nodes, streamDown)
        const full = summarize(table.nodes, streamDown)
        expect({ ...kept, cpu: null, memory: null, disk: null }).toEqual({ ...full, cpu: null, memory: null, disk: null })
        for (const key of ['cpu', 'memory', 'disk'] as const) {
          if (full[key] === null) expect(kept[key]).toBeNull()
          else expect(kept[key]).toBeCloseTo(full[key], 9)
        }
        for (const n of table.nodes) expect(grid.get(n.id)).toBe(n)
      }
    })
  }

  for (const seed of [11, 12, 13, 14]) {
    it(`agree with the names ranked over every node while the grid holds a changing part of them (seed ${seed})`, () => {
      const rng = seededRandom(seed)
      let id = 0
      const nextId = () => ++id
      let table = applyNodeMessage({ timestamp: null, nodes: [] }, 'snapshot', { timestamp: 't0', nodes: Array.from({ length: 60 }, () => randomNode(rng, nextId())) })
      const labels = randomLabels(rng, table.nodes.map(n => n.id))
      let view = randomView(rng, labels)
      // The part in scope: every node, or those whose id leaves remainder r by k (a member's, say).
      let part = { k: 1, r: 0 }
      const names = createNameOrder()
      const grid = createGridOrder(names)
      let map = names.sync(table.nodes)
      for (let step = 1; step <= 60; step++) {
        const before = table
        table = applyNodeMessage(table, 'delta', randomDelta(rng, table, nextId, `t${step}`))
        if (rng.next() < 0.2) view = { ...randomView(rng, labels), labels }
        if (rng.next() < 0.2) part = rng.pick([{ k: 1, r: 0 }, { k: 2, r: 0 }, { k: 2, r: 1 }, { k: 3, r: 2 }])
        const next = names.sync(table.nodes)
        const scoped = table.nodes.filter(n => n.id % part.k === part.r)
        expect(grid.sync(scoped, view).map(n => n.id), `step ${step}`).toEqual(fullOrder(scoped, view).map(n => n.id))
        // The names map: in name order, and the same map while no node came, left or was renamed.
        expect([...next.keys()]).toEqual(sortNodes(table.nodes, 'name').map(n => n.id))
        const renamed = before.nodes.length !== table.nodes.length || table.nodes.some((n, i) => before.nodes[i]?.id !== n.id || before.nodes[i]?.hostname !== n.hostname)
        if (!renamed) expect(next).toBe(map)
        map = next
      }
    })
  }

  it('ranks names in the collator\'s order whatever they hold (digits, leading zeros, case, punctuation, accents)', () => {
    const rng = seededRandom(21)
    const CHARS = ['a', 'B', 'e', 'é', 'Z', '-', '.', '_', ' ', '0', '00', '1', '9', '10', '007', '42']
    const nodes = Array.from({ length: 800 }, (_, i) => ({ ...randomNode(rng, i + 1), hostname: Array.from({ length: 1 + Math.floor(rng.next() * 6) }, () => rng.pick(CHARS)).join('') }))
    expect([...createNameOrder().sync(nodes).keys()]).toEqual(sortNodes(nodes, 'name').map(n => n.id))
  })

  it('hands back the same list while nothing it shows changed', () => {
    const rng = seededRandom(9)
    const nodes = Array.from({ length: 20 }, (_, i) => randomNode(rng, i + 1))
    const view: GridView = { q: '', status: 'all', sort: 'cpu', group: '', labels: new Map() }
    const grid = createGridOrder()
    const list = grid.sync(nodes, view)
    expect(grid.sync([...nodes], view)).toBe(list)
    // A change to a node the filter leaves out leaves the list as it was.
    const offline = { ...view, status: 'online' as const }
    const shown = grid.sync(nodes, offline)
    const hidden = nodes.findIndex(n => n.state !== 'online')
    const next = nodes.map((n, i) => (i === hidden ? { ...n, cpu_percent: 1 } : n))
    expect(grid.sync(next, offline)).toBe(shown)
  })
})
