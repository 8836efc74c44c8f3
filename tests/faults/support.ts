/**
 * What the fault tests share: an admin's credentials on a server of their own, agents that push
 * samples until told to stop (counting every answer), and a stream reader that resumes with
 * Last-Event-ID, as a browser's EventSource does, and can be cut off at any byte.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { RunningServer } from '../integration/support/server'

export interface Agent { id: number, token: string }
export interface Admin { cookie: string, bearer: string }

export const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

/** Polls `check` every 100 ms until it holds; fails with `what` after `ms`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for: ${what}`)
    await sleep(100)
  }
}

export async function json<T>(res: Response): Promise<T> {
  const text = await res.text()
  if (!res.ok) throw new Error(`${res.status}: ${text}`)
  return JSON.parse(text) as T
}

/** An admin session cookie on a running server. */
export async function adminCookie(srv: RunningServer): Promise<string> {
  const res = await fetch(`${srv.info.baseURL}/api/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: srv.info.adminUser, password: srv.info.adminPassword }),
  })
  await json(res)
  return res.headers.getSetCookie().find(c => c.startsWith('nodepulse_session='))!.split(';')[0]!
}

/** The admin's session and an admin API token of its own. */
export async function admin(srv: RunningServer): Promise<Admin> {
  const cookie = await adminCookie(srv)
  const res = await fetch(`${srv.info.baseURL}/api/v1/tokens`, {
    method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify({ name: `faults-${randomBytes(3).toString('hex')}`, role: 'admin' }),
  })
  return { cookie, bearer: (await json<{ token: string }>(res)).token }
}

/** Registers `count` nodes and returns their ids and agent tokens. */
export function createAgents(srv: RunningServer, cookie: string, count: number, prefix: string): Promise<Agent[]> {
  return Promise.all(Array.from({ length: count }, async (_, i) => {
    const res = await fetch(`${srv.info.baseURL}/api/v1/nodes`, {
      method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify({ hostname: `${prefix}-${i}-${randomBytes(3).toString('hex')}` }),
    })
    return json<Agent>(res)
  }))
}

export interface PushOptions {
  /** Pause between one agent's reports (ms); 0 sends the next as soon as the last is answered. */
  pauseMs?: number
  /** A request not answered within this is counted as a hang (and abandoned). */
  hangMs?: number
  /** Timestamps start here (each agent its own, one second apart per sample). */
  base?: number
  /** Samples per report (`{samples: […]}`); one plain sample when absent. */
  batch?: number
}

export interface PushAnswer { at: number, status: number, retryAfter: string | null, ms: number }

/**
 * Each agent posts one report after another (new timestamps each) until `stop`. Keeps per node
 * the sample timestamps answered 2xx, every answer's status, Retry-After and time, and the hangs.
 */
export function push(baseURL: string, agents: Agent[], stop: AbortSignal, opts: PushOptions = {}) {
  const acked = new Map<number, number[]>(agents.map(a => [a.id, []]))
  const answers: PushAnswer[] = []
  let failed = 0
  let hangs = 0
  const base = opts.base ?? Date.now() - 3_600_000
  const loops = agents.map(async (agent, i) => {
    for (let seq = 0; !stop.aborted; seq++) {
      const stamps = Array.from({ length: opts.batch ?? 1 }, (_, k) => base + (seq * (opts.batch ?? 1) + k) * 1000 + i)
      const samples = stamps.map(ts => ({ cpu_percent: seq % 100, disk_percent: 1, timestamp: new Date(ts).toISOString() }))
      const started = performance.now()
      const hang = AbortSignal.timeout(opts.hangMs ?? 60_000)
      try {
        const res = await fetch(`${baseURL}/api/v1/nodes/${agent.id}/stats`, {
          method: 'POST', signal: AbortSignal.any([stop, hang]), headers: { 'content-type': 'application/json', 'authorization': `Bearer ${agent.token}` },
          body: JSON.stringify(opts.batch ? { samples } : samples[0]),
        })
        await res.text()
        answers.push({ at: Date.now(), status: res.status, retryAfter: res.headers.get('retry-after'), ms: performance.now() - started })
        if (res.status >= 200 && res.status < 300) acked.get(agent.id)!.push(...stamps)
        else seq-- // the same sample again, as an agent's spool would send it
      }
      catch {
        if (hang.aborted && !stop.aborted) hangs++
        else failed++
        if (!stop.aborted) seq--
      }
      if (!stop.aborted && opts.pauseMs) await sleep(opts.pauseMs)
      else if (!stop.aborted && answers.at(-1)?.status !== 200) await sleep(20)
    }
  })
  return { acked, answers, done: Promise.all(loops), failed: () => failed, hangs: () => hangs }
}

/** One parsed SSE message: its fields and when it was dispatched. */
export interface Message { id?: string, event?: string, data?: string, at: number }

export interface ReaderOptions {
  /** Auth headers (cookie or authorization). */
  headers: Record<string, string>
  /** Called with every complete message that carries data. */
  onMessage?: (m: Message) => void
  /**
   * Asked for every chunk the socket delivers: a byte offset inside it to cut the connection at
   * (the bytes after it are lost, as on a dropped connection), or undefined to read it whole.
   */
  cutAt?: (chunk: Uint8Array) => number | undefined
  /** Pause before reconnecting (ms). */
  retryMs?: number
}

/**
 * A stream reader that behaves like EventSource: it dispatches a message only at its blank line,
 * remembers the last id it dispatched, and reconnects with it as Last-Event-ID whenever the
 * connection ends, until `close()`. Counts its connections and the answers that were not 200.
 */
export function resumingReader(url: string, opts: ReaderOptions) {
  let lastId: string | undefined
  let closed = false
  let connections = 0
  let cuts = 0
  const refusals: number[] = []
  let current: AbortController | undefined

  const dispatch = (block: string) => {
    const m: Message = { at: Date.now() }
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue
      const i = line.indexOf(':')
      const field = i === -1 ? line : line.slice(0, i)
      const value = i === -1 ? '' : line.slice(i + 1).replace(/^ /, '')
      if (field === 'id') m.id = value
      else if (field === 'event') m.event = value
      else if (field === 'data') m.data = m.data === undefined ? value : `${m.data}\n${value}`
    }
    if (m.id !== undefined) lastId = m.id
    if (m.data !== undefined) opts.onMessage?.(m)
  }

  const once = async () => {
    const controller = new AbortController()
    current = controller
    const headers: Record<string, string> = { accept: 'text/event-stream', ...opts.headers }
    if (lastId !== undefined) headers['last-event-id'] = lastId
    const res = await fetch(url, { headers, signal: controller.signal })
    if (res.status !== 200) {
      refusals.push(res.status)
      await res.body?.cancel()
      return
    }
    connections++
    const decoder = new TextDecoder()
    let buffer = ''
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      const cut = opts.cutAt?.(chunk)
      buffer += decoder.decode(cut === undefined ? chunk : chunk.subarray(0, cut), { stream: true })
      let end: number
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        dispatch(buffer.slice(0, end))
        buffer = buffer.slice(end + 2)
      }
      if (cut !== undefined) {
        cuts++
        controller.abort()
        return
      }
    }
  }

  const loop = (async () => {
    while (!closed) {
      try {
        await once()
      }
      catch {
        // cut off, refused or the server went away: reconnect, as EventSource does
      }
      if (!closed) await sleep(opts.retryMs ?? 50)
    }
  })()

  return {
    lastId: () => lastId,
    connections: () => connections,
    cuts: () => cuts,
    refusals,
    async close() {
      closed = true
      current?.abort()
      await loop
    },
  }
}

/** Resident memory of a process in bytes (from /proc/<pid>/status). */
export function rssOf(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!kb) throw new Error(`no VmRSS in /proc/${pid}/status`)
  return Number(kb[1]) * 1024
}
