import { describe, expect, it } from 'vitest'
import { createRequestLog } from '../../server/services/requestLog'
import type { RequestLogEntry } from '../../shared/contracts/seed001'
import { memoryRegistry } from './db'

const t = memoryRegistry()

describe('request log writes', () => {
  it('stores every field of each entry as recorded, in order, and hands listeners the same rows', async () => {
    const node = await t.registry.create({ hostname: 'log-1', kind: 'agent' })
    // A long flush interval: the test writes with flush() itself.
    const log = createRequestLog(t.handle.db, t.registry, { maxRows: 100, flushMs: 3_600_000 })
    const written: RequestLogEntry[] = []
    log.onWrite(entries => written.push(...entries))
    const at = new Date('2025-06-01T12:00:00.123Z')
    log.record({ nodeId: node.id, method: 'POST', endpoint: `/api/v1/nodes/${node.id}/stats`, statusCode: 200, latencyMs: 12.345, errorMessage: '', at })
    log.record({ nodeId: null, method: 'POST', endpoint: '/api/v1/nodes/x/stats', statusCode: 400, latencyMs: 0.04, errorMessage: 'Invalid "id": é漢字🙂 \\ \n', at: new Date(at.getTime() + 1) })
    log.record({ nodeId: 999_999, method: 'GET', endpoint: '/e', statusCode: 404, latencyMs: 1e6, errorMessage: 'Node 999999 not found', at: new Date(at.getTime() + 2) })
    await log.flush()
    const recent = await log.recent(3)
    expect(recent.map(({ id: _id, ...rest }) => rest)).toEqual([
      { provider_id: node.id, node_id: node.id, hostname: 'log-1', method: 'POST', endpoint: `/api/v1/nodes/${node.id}/stats`, status_code: 200, latency_ms: 12.3, success: true, error_message: '', timestamp: Math.floor(at.getTime() / 1000) },
      { provider_id: null, node_id: null, hostname: null, method: 'POST', endpoint: '/api/v1/nodes/x/stats', status_code: 400, latency_ms: 0, success: false, error_message: 'Invalid "id": é漢字🙂 \\ \n', timestamp: Math.floor(at.getTime() / 1000) },
      { provider_id: 999_999, node_id: 999_999, hostname: null, method: 'GET', endpoint: '/e', status_code: 404, latency_ms: 1e6, success: false, error_message: 'Node 999999 not found', timestamp: Math.floor(at.getTime() / 1000) },
    ])
    expect(recent[0]!.id).toBeLessThan(recent[1]!.id)
    expect(recent[1]!.id).toBeLessThan(recent[2]!.id)
    expect(written).toEqual(recent)
    await log.close()
  })

  it('stores a message with a lone surrogate, NUL or a pair cut at the limit, and loses no entry of the batch', async () => {
    const log = createRequestLog(t.handle.db, t.registry, { maxRows: 100, flushMs: 3_600_000 })
    const at = new Date()
    log.record({ nodeId: null, method: 'POST', endpoint: '/ok-before', statusCode: 200, latencyMs: 1, errorMessage: '', at })
    log.record({ nodeId: null, method: 'POST', endpoint: '/a\uD800b', statusCode: 422, latencyMs: 1, errorMessage: 'unknown field(s): \uD800, \uDC00x, a\0b', at })
    // 498 characters and an emoji: the cut at 499 falls between its two halves.
    log.record({ nodeId: null, method: 'POST', endpoint: '/cut', statusCode: 422, latencyMs: 1, errorMessage: `${'x'.repeat(498)}🙂 and more`, at })
    log.record({ nodeId: null, method: 'POST', endpoint: '/ok-after', statusCode: 200, latencyMs: 1, errorMessage: '', at })
    await log.flush()
    const rows = await log.recent(4)
    expect(rows.map(r => r.endpoint)).toEqual(['/ok-before', '/a\uFFFDb', '/cut', '/ok-after'])
    expect(rows[1]!.error_message).toBe('unknown field(s): \uFFFD, \uFFFDx, a\uFFFDb')
    expect(rows[2]!.error_message).toBe(`${'x'.repeat(498)}\uFFFD…`)
    await log.close()
  })

  it('writes more than one statement\'s rows in order and keeps only the newest maxRows', async () => {
    const log = createRequestLog(t.handle.db, t.registry, { maxRows: 1500, flushMs: 3_600_000 })
    for (let i = 0; i < 2500; i++) log.record({ nodeId: null, method: 'POST', endpoint: `/n/${i}`, statusCode: 200, latencyMs: i, errorMessage: '', at: new Date() })
    // 2,500 waiting, more than maxRows: the oldest 1,000 were dropped before any write.
    expect(log.dropped()).toBe(1000)
    await log.flush()
    const rows = await log.recent(2000)
    expect(rows.length).toBe(1500)
    expect(rows.map(r => r.endpoint)).toEqual(Array.from({ length: 1500 }, (_, i) => `/n/${i + 1000}`))
    await log.close()
  })
})
