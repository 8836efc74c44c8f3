/**
 * A server of a test file's own, for settings the shared one must not have (fast channel ticks,
 * a small client buffer, a connection limit, a restart). It runs on the same database driver as the
 * project: in the Postgres project it gets a database of its own on TEST_DATABASE_URL, dropped at
 * stop (and kept across `restart()`, like the PGlite data directory).
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import postgres from 'postgres'
import { expect, inject } from 'vitest'
import type { CreatedNode } from '../../../shared/contracts/rest'
import type { HubStats } from '../../../shared/contracts/seed001'
import { startServer, type RunningServer } from './server'

export interface Call<T> { status: number, headers: Headers, body: T, text: string }
export type CreatedAgent = CreatedNode

export interface Dedicated {
  srv: RunningServer
  baseURL: string
  /** Its own database on TEST_DATABASE_URL in the Postgres project (a second instance can share it); undefined on PGlite. */
  databaseUrl?: string
  /** An admin API token (sent as Bearer or ?token=). */
  bearer: string
  /** The admin's session cookie (`name=value`). */
  cookie: string
  /** Any request; auth is the admin bearer unless `auth` says otherwise (`null`: none). */
  call: <T = { statusCode: number, message: string }>(method: string, path: string, opts?: { json?: unknown, auth?: { bearer: string } | { cookie: string } | null, headers?: Record<string, string> }) => Promise<Call<T>>
  createAgent: (hostname?: string, labels?: Record<string, string>) => Promise<CreatedAgent>
  /** Posts a report (one sample or `{samples:[…]}`) with the agent's token; fails the test unless stored. */
  report: (agent: CreatedAgent, body: unknown) => Promise<void>
  hubStats: () => Promise<HubStats>
  /** Resident memory of the server process in bytes (from /proc/<pid>/status). */
  rss: () => number
  stop: () => Promise<void>
}

const ERR_OUTPUT = (srv: RunningServer) => `\n--- server output ---\n${srv.output().slice(-3000)}`

/**
 * Starts a server of the test's own on the project's driver (a database of its own on
 * TEST_DATABASE_URL in the Postgres project, dropped by `stop`). Nothing is logged in: for a first
 * run without NODEPULSE_ADMIN_PASSWORD, pass `{ NODEPULSE_ADMIN_PASSWORD: '' }`.
 */
export async function startOwnServer(label: string, env: Record<string, string>): Promise<{ srv: RunningServer, stop: () => Promise<void>, databaseUrl?: string }> {
  const project = inject('server')
  let databaseUrl: string | undefined
  let drop = async () => {}
  if (project.driver === 'postgres') {
    const adminUrl = process.env.TEST_DATABASE_URL
    if (!adminUrl) throw new Error('the Postgres project needs TEST_DATABASE_URL')
    const name = `np_test_${label.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
    await admin.unsafe(`create database ${name}`)
    const url = new URL(adminUrl)
    url.pathname = `/${name}`
    databaseUrl = url.toString()
    drop = async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end({ timeout: 5 })
    }
  }
  let srv: RunningServer
  try {
    srv = await startServer({ label, env, databaseUrl })
  }
  catch (error) {
    await drop()
    throw error
  }
  return {
    srv,
    databaseUrl,
    async stop() {
      await srv.stop()
      await drop()
    },
  }
}

/** A server of the test's own (see `startOwnServer`), logged in as its admin with a session and an API token. */
export async function startDedicated(label: string, env: Record<string, string>): Promise<Dedicated> {
  const { srv, stop, databaseUrl } = await startOwnServer(label, env)
  const baseURL = srv.info.baseURL

  const call: Dedicated['call'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers }
    const auth = opts.auth === undefined ? { bearer: d.bearer } : opts.auth
    if (auth && 'bearer' in auth) headers.authorization = `Bearer ${auth.bearer}`
    if (auth && 'cookie' in auth) headers.cookie = auth.cookie
    if (opts.json !== undefined) headers['content-type'] = 'application/json'
    const res = await fetch(`${baseURL}${path}`, { method, headers, body: opts.json === undefined ? undefined : JSON.stringify(opts.json) })
    const text = await res.text()
    let body: unknown
    try {
      body = text ? JSON.parse(text) : undefined
    }
    catch {
      body = undefined
    }
    return { status: res.status, headers: res.headers, body: body as never, text }
  }

  const login = await fetch(`${baseURL}/api/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: srv.info.adminUser, password: srv.info.adminPassword }),
  })
  const cookie = login.headers.getSetCookie().find(c => c.startsWith('nodepulse_session='))?.split(';')[0]
  if (!cookie) throw new Error(`login on the ${label} server failed: ${login.status}${ERR_OUTPUT(srv)}`)
  const d: Dedicated = {
    srv, baseURL, databaseUrl, cookie, bearer: '', call,
    async createAgent(hostname = `${label}-${randomBytes(4).toString('hex')}`, labels) {
      const res = await call<CreatedAgent>('POST', '/api/v1/nodes', { json: labels ? { hostname, labels } : { hostname } })
      expect(res.status, res.text).toBe(201)
      return res.body
    },
    async report(agent, body) {
      const res = await call('POST', `/api/v1/nodes/${agent.id}/stats`, { json: body, auth: { bearer: agent.token } })
      expect(res.status, res.text).toBe(200)
    },
    async hubStats() {
      const res = await call<{ success: boolean, data: HubStats }>('GET', '/api/realtime/hub/stats')
      expect(res.status, res.text).toBe(200)
      expect(res.body.success).toBe(true)
      return res.body.data
    },
    rss() {
      const status = readFileSync(`/proc/${srv.pid}/status`, 'utf8')
      const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)
      if (!kb) throw new Error(`no VmRSS in /proc/${srv.pid}/status`)
      return Number(kb[1]) * 1024
    },
    stop,
  }
  const token = await call<{ token: string }>('POST', '/api/v1/tokens', { auth: { cookie }, json: { name: `${label}-admin`, role: 'admin' } })
  if (token.status !== 201) throw new Error(`token on the ${label} server: ${token.text}${ERR_OUTPUT(srv)}`)
  d.bearer = token.body.token
  // The master samples itself at start-up: wait for that report, so it does not land in a test's figures.
  await until('the master\'s start-up sample', async () => (await call<{ data: { total_reports: number } }>('GET', '/api/realtime/metrics')).body.data.total_reports >= 1, 15_000)
  return d
}

/** Polls `check` every 50 ms until it holds; fails with `what` after `ms`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for: ${what}`)
    await new Promise(r => setTimeout(r, 50))
  }
}

export const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))
