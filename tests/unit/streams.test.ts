import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { DatabaseHandle } from '../../server/db'
import { createHub, type Hub } from '../../server/services/streams/hub'
import { createRegistry, type Registry } from '../../server/services/registry'
import { createNodeStreams, type NodeStreams } from '../../server/services/streams/seed000'
import { memoryDatabase } from './db'

let handle: DatabaseHandle
let registry: Registry
let hub: Hub
let streams: NodeStreams
let server: http.Server
let base: string

beforeAll(async () => {
  handle = await memoryDatabase()
  registry = createRegistry(handle.db)
  await registry.load()
  hub = createHub({ heartbeatMs: 60_000, maxBufferBytes: 1 << 20 })
  streams = createNodeStreams(hub, registry, { staleAfterSeconds: 300, unreachableAfterSeconds: 60, masterId: 0 })
  // /all/<interval> and /node/<id>/<interval>, as the stream routes call them.
  server = http.createServer((req, res) => {
    const [, kind, a, b] = req.url!.split('/')
    const opened = kind === 'all' ? streams.all(req, res, Number(a)) : streams.node(req, res, Number(a), Number(b))
    opened.catch((error: Error) => {
      res.writeHead(500).end(error.message)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}, 60_000)

afterAll(async () => {
  streams?.close()
  hub?.close()
  server?.close()
  await handle?.close()
})

interface Opened { status: number, text: () => string, ended: Promise<void>, close: () => void }
let opened: Opened[] = []
afterEach(() => {
  opened.forEach(o => o.close())
  opened = []
  vi.restoreAllMocks()
})

/** Opens a stream and collects its raw text. */
function open(path: string): Promise<Opened> {
  return new Promise((resolve, reject) => {
    let text = ''
    const req = http.get(base + path, (res) => {
      res.setEncoding('utf8')
      res.on('data', (c: string) => (text += c))
      const ended = new Promise<void>(done => res.on('close', () => done()))
      const o: Opened = { status: res.statusCode!, text: () => text, ended, close: () => req.destroy() }
      opened.push(o)
      resolve(o)
    })
    req.on('error', reject)
  })
}

const messages = (o: Opened) => o.text().split('\n\n').filter(m => m.startsWith('data: ')).map(m => JSON.parse(m.slice(6)) as Record<string, unknown>)

async function until(check: () => boolean, ms = 3000) {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise(r => setTimeout(r, 10))
  }
}

describe('seed 000 snapshot streams', () => {
  it('builds one snapshot for many clients joining between ticks, and a new one after the node list changes', async () => {
    await registry.create({ hostname: 'join-a', kind: 'agent' })
    const list = vi.spyOn(registry, 'list')
    // A 60 s interval: no tick happens during the test, so every build is a joiner's.
    const clients = await Promise.all(Array.from({ length: 20 }, () => open('/all/60')))
    await until(() => clients.every(c => messages(c).length === 2))
    const late = await open('/all/60')
    await until(() => messages(late).length === 2)
    expect(list).toHaveBeenCalledTimes(1)
    expect(new Set([...clients, late].map(c => JSON.stringify(messages(c)[1]))).size).toBe(1)

    // A snapshot from before a node was added is not handed to the next joiner.
    const added = await registry.create({ hostname: 'join-b', kind: 'agent' })
    const after = await open('/all/60')
    await until(() => messages(after).length === 2)
    expect(list).toHaveBeenCalledTimes(2)
    expect((messages(after)[1]!.nodes as { id: number }[]).map(n => n.id)).toContain(added.id)
  })

  it('does not leave a ticker running when the first snapshot cannot be built', async () => {
    const list = vi.spyOn(registry, 'list').mockImplementationOnce(() => {
      throw new Error('no snapshot today')
    })
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const failed = await open('/all/1')
    await failed.ended
    expect(failed.status).toBe(500)
    expect(failed.text()).toBe('no snapshot today')
    expect(hub.count('node-stats:all:1')).toBe(0)
    // Past the first tick: nothing was built for nobody.
    await new Promise(r => setTimeout(r, 1300))
    expect(list).toHaveBeenCalledTimes(1)
  })

  it('ends a per-node stream with `deleted` when the node went away while the client was joining', async () => {
    const node = await registry.create({ hostname: 'gone-soon', kind: 'agent' })
    // The route found the node; it is deleted before the stream subscribes.
    await registry.remove(node.id)
    const s = await open(`/node/${node.id}/1`)
    await s.ended
    expect(s.status).toBe(200)
    expect(messages(s).map(m => m.event)).toEqual(['connected', 'deleted'])
    expect(messages(s)[1]).toMatchObject({ event: 'deleted', id: node.id })
    expect(hub.count(`node-stats:node:${node.id}:1`)).toBe(0)
  })

  it('ends a per-node stream with `deleted` when the node is deleted mid-stream', async () => {
    const node = await registry.create({ hostname: 'gone-later', kind: 'agent' })
    const s = await open(`/node/${node.id}/1`)
    await until(() => messages(s).length === 2)
    expect(messages(s)[1]).toMatchObject({ node: { id: node.id, status: 'offline' } })
    await registry.remove(node.id)
    await s.ended
    expect(messages(s).at(-1)).toMatchObject({ event: 'deleted', id: node.id })
  })
})
