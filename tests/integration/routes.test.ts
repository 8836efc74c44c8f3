/**
 * The auth matrix over every authenticated route: no credentials → 401, a bad token → 401,
 * a malformed Authorization header → 401, a viewer (session or token) on an admin route → 403,
 * a viewer on a read route → 200. Agent-token checks of the ingest route are in ingest.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { api, createApiToken, createUser, expectError, type Auth } from './helpers'

interface Route { method: string, path: string, json?: unknown }

// Ids that exist nowhere: the role check must refuse before the handler looks anything up.
const READ: Route[] = [
  { method: 'GET', path: '/api/v1/auth/me' },
  { method: 'GET', path: '/api/v1/nodes' },
  { method: 'GET', path: '/api/v1/nodes/' },
  { method: 'GET', path: '/api/realtime/hub/stats' },
  { method: 'GET', path: '/api/nodes' },
  { method: 'GET', path: '/api/readings' },
  { method: 'GET', path: '/api/observations' },
  { method: 'GET', path: '/api/stats' },
]
// Streams: only the refusals are checked here (a granted stream never ends).
const STREAMS: Route[] = [
  { method: 'GET', path: '/api/v1/metrics/nodes/stats/stream' },
  { method: 'GET', path: '/api/v1/metrics/nodes/1/stats/stream' },
  { method: 'GET', path: '/api/v1/metrics/node/stream' },
]
const SELF_SERVICE: Route[] = [
  { method: 'POST', path: '/api/v1/auth/stream-token' },
  { method: 'POST', path: '/api/v1/auth/logout' },
]
const ADMIN: Route[] = [
  { method: 'GET', path: '/api/v1/members' },
  { method: 'POST', path: '/api/v1/members', json: { name: 'matrix-member', url: 'http://127.0.0.1:9', token: 't' } },
  { method: 'DELETE', path: '/api/v1/members/987001' },
  { method: 'POST', path: '/api/v1/nodes', json: { hostname: 'matrix-node' } },
  { method: 'PATCH', path: '/api/v1/nodes/987001', json: { hostname: 'matrix-node' } },
  { method: 'DELETE', path: '/api/v1/nodes/987001' },
  { method: 'POST', path: '/api/v1/nodes/987001/token' },
  { method: 'GET', path: '/api/v1/tokens' },
  { method: 'POST', path: '/api/v1/tokens', json: { name: 'matrix', role: 'admin' } },
  { method: 'DELETE', path: '/api/v1/tokens/987001' },
  { method: 'GET', path: '/api/v1/users' },
  { method: 'POST', path: '/api/v1/users', json: { username: 'matrix-user', password: 'long-enough-pw', role: 'admin' } },
  { method: 'DELETE', path: '/api/v1/users/987001' },
]
const AUTHENTICATED = [...READ, ...STREAMS, ...SELF_SERVICE, ...ADMIN, { method: 'GET', path: '/api/v1/nodes/987001' }]
const name = (r: Route) => `${r.method} ${r.path}`

let viewerSession: Auth
let viewerToken: Auth

beforeAll(async () => {
  viewerSession = (await createUser()).auth
  viewerToken = { bearer: (await createApiToken('viewer')).token }
})

describe.each(AUTHENTICATED)('$method $path', (route) => {
  it('answers 401 without credentials', async () => {
    expectError(await api(route.method, route.path, { json: route.json }), 401, 'Authentication required')
  })

  it('answers 401 for an unknown bearer token', async () => {
    expectError(await api(route.method, route.path, { json: route.json, auth: { bearer: 'np_0000000000000000000000000000000000000000000' } }), 401, 'Invalid or expired token')
  })

  it('answers 401 for a malformed Authorization header', async () => {
    expectError(await api(route.method, route.path, { json: route.json, headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } }), 401)
  })
})

describe.each(ADMIN)('$method $path as a viewer', (route) => {
  it('answers 403 to a viewer\'s session', async () => {
    expectError(await api(route.method, route.path, { json: route.json, auth: viewerSession }), 403, 'admin role')
  })

  it('answers 403 to a viewer\'s API token', async () => {
    expectError(await api(route.method, route.path, { json: route.json, auth: viewerToken }), 403, 'admin role')
  })
})

describe('read and self-service routes as a viewer', () => {
  it.each(READ.map(name))('%s answers 200', async (route) => {
    const [method, path] = route.split(' ') as [string, string]
    expect((await api(method, path, { auth: viewerSession })).status).toBe(200)
    expect((await api(method, path, { auth: viewerToken })).status).toBe(200)
  })

  it('POST /api/v1/auth/stream-token answers 201', async () => {
    expect((await api('POST', '/api/v1/auth/stream-token', { auth: viewerToken })).status).toBe(201)
  })
})

describe('public routes', () => {
  it('GET /api/health needs no credentials', async () => {
    expect((await api('GET', '/api/health')).status).toBe(200)
  })

  it('GET /api/v1/auth/setup needs no credentials', async () => {
    expect((await api('GET', '/api/v1/auth/setup')).status).toBe(200)
  })
})
