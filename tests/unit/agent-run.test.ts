import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { AgentClient, SendResult } from '../../cli/agent/client'
import type { Log } from '../../cli/agent/log'
import { createAgent, EXIT } from '../../cli/agent/run'
import type { AgentSettings } from '../../cli/agent/settings'
import { openSpool, type Spool } from '../../cli/agent/spool'
import type { HostSample, HostSampler } from '../../shared/sampler'

const spools: Spool[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  await Promise.all(spools.splice(0).map(s => s.close()))
})

/** An agent with a fake host (sample n has cpu_percent n) and a scripted server. */
async function setup(answer: (body: string, n: number) => SendResult, opts: { spoolMax?: number, recheckMs?: { first: number, max: number } } = {}) {
  const lines: string[] = []
  const log: Log = { info: m => lines.push(m), warn: m => lines.push(m) }
  const settings: AgentSettings = {
    push: true, server: 'http://np', nodeId: 1, token: 't', intervalSeconds: 1, spoolDir: mkdtempSync(join(tmpdir(), 'np-run-')),
    spoolMax: opts.spoolMax ?? 1000, spoolMaxGiven: false, once: true, quiet: false,
  }
  const spool = await openSpool(settings.spoolDir, settings.spoolMax, log)
  spools.push(spool)
  let n = 0
  const sampler: HostSampler = {
    sample: async (): Promise<HostSample> => ({ cpu_percent: ++n, memory_percent: 1, disk_percent: 1, uptime_seconds: 1, active_backups: 0, timestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString(), detail: {} }),
  }
  const sent: string[] = []
  const events: unknown[] = []
  const client: AgentClient = {
    sendStats: async (body) => {
      sent.push(body)
      return answer(body, sent.length)
    },
    sendEvent: async (event) => {
      events.push(event)
      return { kind: 'ok' }
    },
  }
  const stop = new AbortController()
  const agent = createAgent({ settings, sampler, client, spool, log, version: 'test', stop: stop.signal, recheckMs: opts.recheckMs })
  const cpus = (body: string): number[] => {
    const parsed = JSON.parse(body) as { samples?: { cpu_percent: number }[], cpu_percent?: number }
    return parsed.samples ? parsed.samples.map(s => s.cpu_percent) : [parsed.cpu_percent!]
  }
  return { agent, spool, sent, events, lines, cpus, stop }
}

const down: SendResult = { kind: 'retry', reason: 'ECONNREFUSED' }

describe('the agent loop (--once)', () => {
  it('sends the live sample first, then the spool oldest first', async () => {
    let up = false
    const t = await setup(() => (up ? { kind: 'ok' } : down))
    for (let i = 0; i < 3; i++) expect(await t.agent.once()).toBe(EXIT.failed)
    expect(t.spool.count).toBe(3)
    up = true
    expect(await t.agent.once()).toBe(EXIT.sent)
    // Three failed tries, then live sample 4, then the backlog 1–3 in one batch.
    expect(t.sent.slice(3).map(t.cpus)).toEqual([[4], [1, 2, 3]])
    expect(t.spool.count).toBe(0)
  })

  it('running: honours Retry-After (samples go to the spool without asking), logs the outage once', async () => {
    const t = await setup(() => ({ kind: 'retry', reason: 'the server answered 503', retryAfterMs: 60_000 }))
    setTimeout(() => t.stop.abort(), 2500)
    expect(await t.agent.run()).toBe(EXIT.sent)
    expect(t.sent).toHaveLength(1)
    expect(t.spool.count).toBe(3)
    expect(t.lines.filter(l => l.startsWith('server unreachable'))).toEqual(['server unreachable (the server answered 503, asked to retry in 60 s); keeping samples in ' + t.spool.dir])
    expect(t.lines.at(-1)).toBe('stopped: 3 samples taken this run, 3 waiting in the spool')
  })

  it('maps a refused token and an unknown node to exit 2 and 3, keeping the sample', async () => {
    const auth = await setup(() => ({ kind: 'auth', status: 403, message: 'the token belongs to another node' }))
    expect(await auth.agent.once()).toBe(EXIT.badToken)
    expect(auth.spool.count).toBe(1)
    const unknown = await setup(() => ({ kind: 'unknown-node', message: 'no node 1' }))
    expect(await unknown.agent.once()).toBe(EXIT.unknownNode)
  })

  it('sets a refused spooled batch aside instead of sending it forever', async () => {
    let up = false
    const t = await setup((body, n) => (!up ? down : n === 3 ? { kind: 'refused', status: 422, message: '422 bad' } : { kind: 'ok' }))
    await t.agent.once()
    up = true
    expect(await t.agent.once()).toBe(EXIT.sent)
    expect(t.spool.count).toBe(0)
    expect(t.lines.join('\n')).toMatch(/refused a spooled batch of 1 samples \(422 bad\)/)
  })

  it('reports the samples the bound dropped as one error_report, then counts from zero', async () => {
    let up = false
    const t = await setup(() => (up ? { kind: 'ok' } : down), { spoolMax: 2 })
    for (let i = 0; i < 5; i++) await t.agent.once()
    expect(t.spool.dropped).toBe(3)
    up = true
    await t.agent.once()
    expect(t.events).toEqual([expect.objectContaining({ event_type: 'error_report', data: expect.objectContaining({ dropped_samples: 3, spool_max: 2 }) })])
    expect(t.spool.dropped).toBe(0)
  })

  it('says once that the clock is off from the server\'s', async () => {
    const t = await setup(() => ({ kind: 'ok', skewMs: 600_000 }))
    await t.agent.once()
    await t.agent.once()
    expect(t.lines.filter(l => l.includes('clock is 600 s ahead of the server'))).toHaveLength(1)
  })
})

describe('the agent loop and the wall clock', () => {
  it('keeps sampling every interval when the wall clock steps back an hour (scheduling is monotonic)', async () => {
    const t = await setup(() => ({ kind: 'ok' }))
    const realNow = Date.now.bind(Date)
    let step = 0
    // The first sample is sent, then the clock steps back by an hour (NTP, a manual date change).
    setTimeout(() => (step = -3_600_000), 300)
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + step)
    setTimeout(() => t.stop.abort(), 3_300)
    expect(await t.agent.run()).toBe(EXIT.sent)
    // Samples at about 0, 1, 2 and 3 s: none lost to the step.
    expect(t.sent.length).toBeGreaterThanOrEqual(3)
  })
})

describe('the agent loop when the server refuses the token or the node (running)', () => {
  it('does not exit: logs once, keeps sampling into the spool, asks again with a backoff', async () => {
    const t = await setup(() => ({ kind: 'auth', status: 401, message: 'the server refused the token (401 Unauthorized)' }), { recheckMs: { first: 1_500, max: 3_000 } })
    setTimeout(() => t.stop.abort(), 3_300)
    expect(await t.agent.run()).toBe(EXIT.sent)
    // Asked at 0 s; at 1 s the 1.5 s wait is not over (spooled unasked); asked at 2 s; next not before 5 s.
    expect(t.sent.map(t.cpus)).toEqual([[1], [3]])
    expect(t.spool.count).toBe(4)
    const told = t.lines.filter(l => l.includes('refused the token'))
    expect(told).toHaveLength(1)
    expect(told[0]).toMatch(/Fix it .*install command.*samples are kept in/)
  })

  it('sends again once the token is accepted, says so, and drains the spool', async () => {
    const t = await setup((_, n) => (n <= 2 ? { kind: 'unknown-node', message: 'the server has no node 1 (404 Not Found)' } : { kind: 'ok' }), { recheckMs: { first: 500, max: 800 } })
    setTimeout(() => t.stop.abort(), 2_500)
    expect(await t.agent.run()).toBe(EXIT.sent)
    expect(t.sent.map(t.cpus).slice(0, 4)).toEqual([[1], [2], [3], [1, 2]])
    expect(t.lines.filter(l => l.includes('no node 1'))).toHaveLength(1)
    expect(t.lines).toContain('the server accepted the token and node 1 again; sending 2 spooled samples')
    expect(t.spool.count).toBe(0)
  })
})

describe('a 422 for a spooled batch', () => {
  it('drops only the samples the server names, counts them as dropped, and sends the rest', async () => {
    let up = false
    const t = await setup((body, n) => {
      if (!up) return down
      // Live sample 4 goes, then the batch [1, 2, 3]: its second sample is refused once.
      if (n === 5) return { kind: 'refused', status: 422, message: '422 Invalid body: samples.1.timestamp: is more than 5 minutes in the future', invalidSamples: [1] }
      return { kind: 'ok' }
    })
    for (let i = 0; i < 3; i++) await t.agent.once()
    up = true
    expect(await t.agent.once()).toBe(EXIT.sent)
    expect(t.sent.slice(3).map(t.cpus)).toEqual([[4], [1, 2, 3], [1, 3]])
    expect(t.spool.count).toBe(0)
    expect(t.spool.dropped).toBe(1)
    expect(readdirSync(t.spool.dir).filter(f => f.endsWith('.refused'))).toEqual([])
    // Told to the server like the bound's drops, with the next run that reaches it.
    await t.agent.once()
    expect(t.events).toEqual([expect.objectContaining({ event_type: 'error_report', data: expect.objectContaining({ dropped_samples: 1 }) })])
  })
})
