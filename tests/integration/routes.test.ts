/**
 * The auth matrix over every authenticated route (API, events, webhooks, alert rules, realtime,
 * /metrics, /stream/*), from one table: no credentials → 401, a bad token → 401, a malformed
 * Authorization header → 401, a viewer (session or token) on an admin route → 403, a viewer on a
 * read route → 200. Agent-token checks of the ingest route are in ingest.test.ts.
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
  { method: 'GET', path: '/api/v1/events' },
  { method: 'GET', path: '/api/v1/events/stats' },
  { method: 'GET', path: '/api/v1/incidents' },
  { method: 'GET', path: '/api/v1/silences' },
  { method: 'GET', path: '/api/v1/webhooks' },
  { method: 'GET', path: '/api/v1/alerts/rules' },
  { method: 'GET', path: '/api/realtime/metrics' },
  { method: 'GET', path: '/api/cluster/stats' },
  { method: 'GET', path: '/api/cluster/nodes' },
  { method: 'GET', path: '/metrics' },
]
// Reads of things that do not exist: 401 without credentials, whatever a viewer would then get.
const READ_MISSING: Route[] = [
  { method: 'GET', path: '/api/v1/nodes/987001' },
  { method: 'GET', path: '/api/v1/nodes/987001/history' },
  { method: 'GET', path: '/api/v1/nodes/987001/uptime' },
  { method: 'GET', path: '/api/v1/events/987001' },
  { method: 'GET', path: '/api/v1/incidents/987001' },
  { method: 'GET', path: '/api/v1/silences/987001' },
  { method: 'GET', path: '/api/v1/webhooks/987001' },
  { method: 'GET', path: '/api/v1/webhooks/987001/deliveries' },
  { method: 'GET', path: '/api/v1/alerts/rules/987001' },
  { method: 'GET', path: '/api/v1/history' },
  { method: 'GET', path: '/api/realtime/nodes/987001/metrics' },
  { method: 'GET', path: '/api/nodes/987001/metrics' },
]
// Streams: only the refusals are checked here (a granted stream never ends).
const STREAMS: Route[] = [
  { method: 'GET', path: '/api/v1/metrics/nodes/stats/stream' },
  { method: 'GET', path: '/api/v1/metrics/nodes/stats/delta' },
  { method: 'GET', path: '/api/v1/metrics/nodes/1/stats/stream' },
  { method: 'GET', path: '/api/v1/metrics/node/stream' },
  { method: 'GET', path: '/api/v1/events/stream' },
  { method: 'GET', path: '/stream/reports' },
  { method: 'GET', path: '/stream/all' },
]
const SELF_SERVICE: Route[] = [
  { method: 'POST', path: '/api/v1/auth/stream-token' },
  { method: 'POST', path: '/api/v1/auth/logout' },
  { method: 'POST', path: '/api/v1/events/987001/ack' },
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
  { method: 'POST', path: '/api/v1/webhooks', json: { name: 'matrix-hook', url: 'http://127.0.0.1:9/hook' } },
  { method: 'PATCH', path: '/api/v1/webhooks/987001', json: { name: 'matrix-hook' } },
  { method: 'DELETE', path: '/api/v1/webhooks/987001' },
  { method: 'POST', path: '/api/v1/webhooks/987001/secret' },
  { method: 'POST', path: '/api/v1/webhooks/987001/test' },
  { method: 'POST', path: '/api/v1/silences', json: { event_types: ['backup_failed'], ends_at: '2099-01-01T00:00:00Z', reason: 'matrix' } },
  { method: 'PATCH', path: '/api/v1/silences/987001', json: { reason: 'matrix' } },
  { method: 'POST', path: '/api/v1/silences/987001/end' },
  { method: 'DELETE', path: '/api/v1/silences/987001' },
  { method: 'POST', path: '/api/v1/alerts/rules', json: { name: 'matrix-rule', metric: 'cpu_percent', operator: '>', threshold: 90 } },
  { method: 'PATCH', path: '/api/v1/alerts/rules/987001', json: { enabled: false } },
  { method: 'DELETE', path: '/api/v1/alerts/rules/987001' },
  { method: 'POST', path: '/api/v1/incidents/987001/acknowledge' },
  // A filter no incident matches: even a mistaken grant could acknowledge nothing.
  { method: 'POST', path: '/api/v1/incidents/acknowledge?node_id=987001' },
]
const AUTHENTICATED = [...READ, ...READ_MISSING, ...STREAMS, ...SELF_SERVICE, ...ADMIN]
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

  it('POST /api/v1/events/{id}/ack is on-call work a viewer may do (404 for an event that does not exist, not 403)', async () => {
    expectError(await api('POST', '/api/v1/events/987001/ack', { auth: viewerToken }), 404)
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
