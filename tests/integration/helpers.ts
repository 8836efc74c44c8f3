/**
 * Shared fixtures for the integration tests: an HTTP client that returns the raw status and
 * JSON body, and helpers that create the users, tokens and nodes a test needs on the one
 * server its project started (see support/server.ts).
 */
import { randomBytes } from 'node:crypto'
import { expect, inject } from 'vitest'
import type { NodeView, Role, TokenView, UserView } from '../../shared/contracts/rest'

/** The server this project runs against (base URL, admin credentials, limits). */
export const server = inject('server')

/** How a request authenticates: a session cookie, a bearer token, or nothing. */
export type Auth = { cookie: string } | { bearer: string } | undefined

export interface RequestOptions {
  auth?: Auth
  /** Sent as JSON. */
  json?: unknown
  /** Sent as-is (for malformed or oversized bodies); content-type stays application/json. */
  raw?: BodyInit
  headers?: Record<string, string>
}

export interface ApiResponse<T> {
  status: number
  headers: Headers
  /** The parsed JSON body, or undefined when the body is empty. */
  body: T
  text: string
}

/** The JSON error body every failing route answers with. */
export interface ErrorBody {
  statusCode: number
  statusMessage: string
  message: string
  data?: { issues?: { path: string, message: string }[] }
}

/** Calls the API and returns status, headers and parsed JSON, whatever the status. */
export async function api<T = ErrorBody>(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers }
  if (opts.auth && 'cookie' in opts.auth) headers.cookie = opts.auth.cookie
  if (opts.auth && 'bearer' in opts.auth) headers.authorization = `Bearer ${opts.auth.bearer}`
  let body: BodyInit | undefined
  if (opts.json !== undefined) body = JSON.stringify(opts.json)
  else if (opts.raw !== undefined) body = opts.raw
  if (body !== undefined) headers['content-type'] ??= 'application/json'
  const init: RequestInit & { duplex?: 'half' } = { method, headers, body, redirect: 'manual' }
  if (body instanceof ReadableStream) init.duplex = 'half'
  const res = await fetch(`${server.baseURL}${path}`, init)
  const text = await res.text()
  let parsed: unknown
  if (text) {
    try {
      parsed = JSON.parse(text)
    }
    catch {
      parsed = undefined
    }
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text }
}

/**
 * Opens an SSE stream, reads until the first message arrives (or `ms` pass), then hangs up.
 * Error responses are read whole, so their JSON body can be checked.
 */
export async function openStream(path: string, auth?: Auth, ms = 5000): Promise<{ status: number, contentType: string | null, text: string }> {
  const headers: Record<string, string> = { accept: 'text/event-stream' }
  if (auth && 'cookie' in auth) headers.cookie = auth.cookie
  if (auth && 'bearer' in auth) headers.authorization = `Bearer ${auth.bearer}`
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), ms)
  try {
    const res = await fetch(`${server.baseURL}${path}`, { headers, signal: abort.signal })
    if (!res.headers.get('content-type')?.startsWith('text/event-stream')) {
      return { status: res.status, contentType: res.headers.get('content-type'), text: await res.text() }
    }
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let text = ''
    while (!text.includes('\n\n')) {
      const { value, done } = await reader.read()
      if (done) break
      text += decoder.decode(value, { stream: true })
    }
    return { status: res.status, contentType: res.headers.get('content-type'), text }
  }
  finally {
    clearTimeout(timer)
    abort.abort()
  }
}

/**
 * Asserts an error response: the status, a JSON body whose statusCode is that number and whose
 * message is a non-empty string, optionally containing each of `mentions`.
 */
export function expectError(res: ApiResponse<unknown>, status: number, ...mentions: (string | RegExp)[]): ErrorBody {
  expect(res.status, `expected ${status}, got ${res.status}: ${res.text}`).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  const body = res.body as ErrorBody
  expect(body.statusCode).toBe(status)
  expect(typeof body.message).toBe('string')
  expect(body.message.trim().length).toBeGreaterThan(0)
  for (const m of mentions) {
    if (typeof m === 'string') expect(body.message).toContain(m)
    else expect(body.message).toMatch(m)
  }
  return body
}

/** A name no other test uses (usernames, hostnames, token names). */
export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`
}

/** The `name=value` pair of the session cookie in a response, or undefined. */
export function sessionCookie(headers: Headers): string | undefined {
  const set = headers.getSetCookie().find(c => c.startsWith('nodepulse_session='))
  return set?.split(';')[0]
}

/** Logs in and returns the session cookie; fails the test when login does not succeed. */
export async function login(username: string, password: string): Promise<{ cookie: string }> {
  const res = await api('POST', '/api/v1/auth/login', { json: { username, password } })
  expect(res.status, `login as ${username}: ${res.text}`).toBe(200)
  const cookie = sessionCookie(res.headers)
  expect(cookie, 'login sets the session cookie').toMatch(/^nodepulse_session=.+/)
  return { cookie: cookie! }
}

let adminSession: Promise<{ cookie: string }> | undefined

/** A session cookie of the admin the server was started with (one login per test file). */
export function asAdmin(): Promise<{ cookie: string }> {
  adminSession ??= login(server.adminUser, server.adminPassword)
  return adminSession
}

export interface TestUser extends UserView { password: string, auth: { cookie: string } }

/** Creates a user (a viewer unless told) and logs them in. */
export async function createUser(role: Role = 'viewer', prefix = 'viewer'): Promise<TestUser> {
  const username = unique(prefix)
  const password = `pw-${randomBytes(8).toString('hex')}`
  const res = await api<UserView>('POST', '/api/v1/users', { auth: await asAdmin(), json: { username, password, role } })
  expect(res.status, res.text).toBe(201)
  return { ...res.body, password, auth: await login(username, password) }
}

/** Creates an API token with this role; returns its listing fields and its secret. */
export async function createApiToken(role: Role, name = unique(`${role}-token`)): Promise<TokenView & { token: string }> {
  const res = await api<TokenView & { token: string }>('POST', '/api/v1/tokens', { auth: await asAdmin(), json: { name, role } })
  expect(res.status, res.text).toBe(201)
  return res.body
}

export type CreatedNode = NodeView & { token: string }

/** Registers an agent node; returns it with its agent token (shown only at creation). */
export async function createAgent(hostname = unique('agent'), labels?: Record<string, string>): Promise<CreatedNode> {
  const res = await api<CreatedNode>('POST', '/api/v1/nodes', { auth: await asAdmin(), json: labels ? { hostname, labels } : { hostname } })
  expect(res.status, res.text).toBe(201)
  return res.body
}

/** The node as GET /api/v1/nodes/:id shows it to the admin. */
export async function getNode(id: number): Promise<NodeView> {
  const res = await api<NodeView>('GET', `/api/v1/nodes/${id}`, { auth: await asAdmin() })
  expect(res.status, res.text).toBe(200)
  return res.body
}

export interface IngestAck { node_id: number, accepted: number, stored: number, duplicates: number, last_seen: string }

/** Posts a stats report for a node with an agent token. */
export function report(nodeId: number, token: string | undefined, opts: Omit<RequestOptions, 'auth'>): Promise<ApiResponse<IngestAck>> {
  return api<IngestAck>('POST', `/api/v1/nodes/${nodeId}/stats`, { ...opts, auth: token === undefined ? undefined : { bearer: token } })
}

/** A valid sample with every field, stamped `secondsAgo` before now. */
export function sample(secondsAgo: number, figures: Partial<Record<'cpu_percent' | 'memory_percent' | 'disk_percent' | 'uptime_seconds' | 'active_backups', number>> = {}) {
  return {
    cpu_percent: 10, memory_percent: 20, disk_percent: 30, uptime_seconds: 1000, active_backups: 0,
    ...figures,
    timestamp: new Date(Date.now() - secondsAgo * 1000).toISOString(),
  }
}
