import { describe, expect, it } from 'vitest'
import type { NodeView } from '../../shared/contracts/rest'
import type { EventPage } from '../../shared/contracts/seed002'
import { api, asAdmin, createAgent, createUser, expectError, getNode, report, sample, server, unique } from './helpers'

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const SEED_000_FIELDS = ['id', 'hostname', 'status', 'is_master', 'cpu_percent', 'memory_percent', 'disk_percent', 'uptime_seconds', 'active_backups', 'last_seen']

async function master(): Promise<NodeView> {
  const res = await api<NodeView[]>('GET', '/api/v1/nodes', { auth: await asAdmin() })
  expect(res.status).toBe(200)
  const masters = res.body.filter(n => n.is_master)
  expect(masters).toHaveLength(1)
  return masters[0]!
}

describe('GET /api/v1/nodes', () => {
  it('lists the master with seed 000\'s fields and exact types once it has sampled itself', async () => {
    // The master samples itself every second in the test server; wait for its first sample.
    let node = await master()
    for (let i = 0; i < 50 && node.cpu_percent === null; i++) {
      await new Promise(r => setTimeout(r, 200))
      node = await master()
    }
    for (const field of SEED_000_FIELDS) expect(node).toHaveProperty(field)
    expect(node).toEqual({
      id: expect.any(Number),
      hostname: server.masterHostname,
      status: 'online',
      state: 'online',
      is_master: true,
      cpu_percent: expect.any(Number),
      memory_percent: expect.any(Number),
      disk_percent: expect.any(Number),
      uptime_seconds: expect.any(Number),
      active_backups: 0,
      last_seen: null,
      kind: 'master',
      labels: {},
      maintenance: false,
      created_at: expect.stringMatching(ISO),
      last_sample_at: expect.stringMatching(ISO),
    })
    expect(Number.isInteger(node.id)).toBe(true)
    expect(Number.isInteger(node.uptime_seconds)).toBe(true)
    for (const p of [node.cpu_percent!, node.memory_percent!, node.disk_percent!]) {
      expect(p).toBeGreaterThanOrEqual(0)
      expect(p).toBeLessThanOrEqual(100)
    }
  })

  it('lists nodes ordered by id, agents with every figure null until they report', async () => {
    const agent = await createAgent()
    const res = await api<NodeView[]>('GET', '/api/v1/nodes', { auth: await asAdmin() })
    const ids = res.body.map(n => n.id)
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
    expect(res.body.find(n => n.id === agent.id)).toEqual({
      id: agent.id, hostname: agent.hostname, status: 'offline', state: 'pending', is_master: false,
      cpu_percent: null, memory_percent: null, disk_percent: null, uptime_seconds: null, active_backups: null, last_seen: null,
      kind: 'agent', labels: {}, maintenance: false, created_at: agent.created_at, last_sample_at: null,
    })
    expect(res.text).not.toContain(agent.token)
  })

  it('also answers seed 000\'s /api/v1/nodes/ with a trailing slash', async () => {
    const auth = await asAdmin()
    const plain = await api<NodeView[]>('GET', '/api/v1/nodes', { auth })
    const slash = await api<NodeView[]>('GET', '/api/v1/nodes/', { auth })
    expect(slash.status).toBe(200)
    expect(slash.body.map(n => n.id)).toEqual(plain.body.map(n => n.id))
  })

  it('is readable by viewers', async () => {
    const viewer = await createUser()
    const res = await api<NodeView[]>('GET', '/api/v1/nodes', { auth: viewer.auth })
    expect(res.status).toBe(200)
    expect(res.body.some(n => n.is_master)).toBe(true)
  })
})

describe('POST /api/v1/nodes', () => {
  it('creates an agent and shows its token once', async () => {
    const hostname = unique('web')
    const res = await api<NodeView & { token: string }>('POST', '/api/v1/nodes', { auth: await asAdmin(), json: { hostname, labels: { cluster: 'eu-1', role: 'web' } } })
    expect(res.status).toBe(201)
    expect(res.body).toEqual({
      id: expect.any(Number), hostname, status: 'offline', state: 'pending', is_master: false,
      cpu_percent: null, memory_percent: null, disk_percent: null, uptime_seconds: null, active_backups: null, last_seen: null,
      kind: 'agent', labels: { cluster: 'eu-1', role: 'web' }, maintenance: false, created_at: expect.stringMatching(ISO), last_sample_at: null,
      token: expect.stringMatching(/^npa_[\w-]{43}$/),
    })
    const fetched = await api<NodeView>('GET', `/api/v1/nodes/${res.body.id}`, { auth: await asAdmin() })
    expect(fetched.status).toBe(200)
    const { token, ...view } = res.body
    expect(fetched.body).toEqual({ ...view, detail: null })
    expect(fetched.text).not.toContain(token)
  })

  it('answers 422 for a bad hostname or bad labels, naming the field', async () => {
    const auth = await asAdmin()
    expectError(await api('POST', '/api/v1/nodes', { auth, json: { hostname: 'bad host!' } }), 422, 'hostname')
    expectError(await api('POST', '/api/v1/nodes', { auth, json: { hostname: '' } }), 422, 'hostname')
    expectError(await api('POST', '/api/v1/nodes', { auth, json: {} }), 422, 'hostname')
    expectError(await api('POST', '/api/v1/nodes', { auth, json: { hostname: unique('h'), labels: { 'bad key!': 'x' } } }), 422, 'labels')
    expectError(await api('POST', '/api/v1/nodes', { auth, json: { hostname: unique('h'), labels: { env: 5 } } }), 422, 'labels')
    expectError(await api('POST', '/api/v1/nodes', { auth, json: { hostname: unique('h'), colour: 'red' } }), 422, 'colour')
  })

  it('answers 400 for malformed JSON', async () => {
    expectError(await api('POST', '/api/v1/nodes', { auth: await asAdmin(), raw: '{"hostname": nope}' }), 400, 'Malformed JSON')
  })
})

describe('GET /api/v1/nodes/:id', () => {
  it('answers 404 for an unknown id and 400 for a bad one', async () => {
    const auth = await asAdmin()
    expectError(await api('GET', '/api/v1/nodes/987654', { auth }), 404, 'Node 987654 not found')
    expectError(await api('GET', '/api/v1/nodes/abc', { auth }), 400, 'id')
    expectError(await api('GET', '/api/v1/nodes/0', { auth }), 400, 'id')
    expectError(await api('GET', '/api/v1/nodes/99999999999', { auth }), 400, 'id')
  })
})

describe('hostnames are unique among agents and the master', () => {
  it('refuses a second node with a taken hostname (any case) with 409 naming the node that holds it', async () => {
    const first = await createAgent(unique('dup'))
    const again = await api('POST', '/api/v1/nodes', { auth: await asAdmin(), json: { hostname: first.hostname.toUpperCase() } })
    expectError(again, 409, `A node named ${first.hostname} already exists (id ${first.id})`)
    expectError(await api('POST', '/api/v1/nodes', { auth: await asAdmin(), json: { hostname: server.masterHostname } }), 409, 'already exists')
  })

  it('refuses a rename onto another node\'s hostname but lets a node keep its own', async () => {
    const a = await createAgent(unique('ren-a'))
    const b = await createAgent(unique('ren-b'))
    expectError(await api('PATCH', `/api/v1/nodes/${b.id}`, { auth: await asAdmin(), json: { hostname: a.hostname } }), 409, `(id ${a.id})`)
    const same = await api<NodeView>('PATCH', `/api/v1/nodes/${a.id}`, { auth: await asAdmin(), json: { hostname: a.hostname, labels: { x: '1' } } })
    expect(same.status).toBe(200)
    expect(await getNode(b.id)).toMatchObject({ hostname: b.hostname })
  })
})

describe('PATCH /api/v1/nodes/:id', () => {
  it('changes the hostname and replaces the labels', async () => {
    const agent = await createAgent(unique('old'), { env: 'dev' })
    const hostname = unique('renamed')
    const a = await api<NodeView>('PATCH', `/api/v1/nodes/${agent.id}`, { auth: await asAdmin(), json: { hostname } })
    expect(a.status).toBe(200)
    expect(a.body).toMatchObject({ id: agent.id, hostname, labels: { env: 'dev' }, kind: 'agent' })
    const b = await api<NodeView>('PATCH', `/api/v1/nodes/${agent.id}`, { auth: await asAdmin(), json: { labels: { env: 'prod', team: 'ops' } } })
    expect(b.status).toBe(200)
    expect(b.body).toMatchObject({ id: agent.id, hostname, labels: { env: 'prod', team: 'ops' } })
    expect(await getNode(agent.id)).toMatchObject({ hostname, labels: { env: 'prod', team: 'ops' } })
    // The agent token survives a rename.
    expect((await report(agent.id, agent.token, { json: sample(1) })).status).toBe(200)
  })

  it('answers 422 for a bad hostname, bad labels or an empty change, and changes nothing', async () => {
    const agent = await createAgent(undefined, { env: 'dev' })
    const auth = await asAdmin()
    expectError(await api('PATCH', `/api/v1/nodes/${agent.id}`, { auth, json: { hostname: 'no spaces allowed' } }), 422, 'hostname')
    expectError(await api('PATCH', `/api/v1/nodes/${agent.id}`, { auth, json: { labels: { '': 'x' } } }), 422, 'labels')
    expectError(await api('PATCH', `/api/v1/nodes/${agent.id}`, { auth, json: { labels: ['a'] } }), 422, 'labels')
    expectError(await api('PATCH', `/api/v1/nodes/${agent.id}`, { auth, json: {} }), 422, 'hostname, labels or maintenance')
    expectError(await api('PATCH', `/api/v1/nodes/${agent.id}`, { auth, json: { kind: 'master' } }), 422, 'kind')
    expect(await getNode(agent.id)).toMatchObject({ hostname: agent.hostname, labels: { env: 'dev' }, kind: 'agent' })
  })

  it('answers 404 for an unknown node and 400 for a bad id', async () => {
    const auth = await asAdmin()
    expectError(await api('PATCH', '/api/v1/nodes/987654', { auth, json: { hostname: 'x' } }), 404, 'Node 987654 not found')
    expectError(await api('PATCH', '/api/v1/nodes/x1', { auth, json: { hostname: 'x' } }), 400, 'id')
  })
})

describe('DELETE /api/v1/nodes/:id', () => {
  it('deletes an agent: 204, then 404, and its token stops working', async () => {
    const agent = await createAgent()
    expect((await report(agent.id, agent.token, { json: sample(1) })).status).toBe(200)
    const del = await api('DELETE', `/api/v1/nodes/${agent.id}`, { auth: await asAdmin() })
    expect(del.status).toBe(204)
    expect(del.text).toBe('')
    expectError(await api('GET', `/api/v1/nodes/${agent.id}`, { auth: await asAdmin() }), 404, `Node ${agent.id} not found`)
    expectError(await api('DELETE', `/api/v1/nodes/${agent.id}`, { auth: await asAdmin() }), 404)
    expectError(await report(agent.id, agent.token, { json: sample(0) }), 401)
    const list = await api<NodeView[]>('GET', '/api/v1/nodes', { auth: await asAdmin() })
    expect(list.body.map(n => n.id)).not.toContain(agent.id)
  })

  it('refuses to delete the master with 409', async () => {
    const m = await master()
    expectError(await api('DELETE', `/api/v1/nodes/${m.id}`, { auth: await asAdmin() }), 409, 'master')
    expect((await getNode(m.id)).is_master).toBe(true)
  })

  it('answers 400 for a bad id', async () => {
    expectError(await api('DELETE', '/api/v1/nodes/-3', { auth: await asAdmin() }), 400, 'id')
  })
})

describe('POST /api/v1/nodes/:id/token', () => {
  it('rotates an agent token: the old one gets 401, the new one works', async () => {
    const agent = await createAgent()
    const res = await api<{ id: number, hostname: string, token: string }>('POST', `/api/v1/nodes/${agent.id}/token`, { auth: await asAdmin() })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ id: agent.id, hostname: agent.hostname, token: expect.stringMatching(/^npa_[\w-]{43}$/) })
    expect(res.body.token).not.toBe(agent.token)
    expectError(await report(agent.id, agent.token, { json: sample(2) }), 401, 'Invalid agent token')
    const ok = await report(agent.id, res.body.token, { json: sample(1) })
    expect(ok.status).toBe(200)
    expect(ok.body.stored).toBe(1)
    // The rotation is in the event log, naming the node and never the token.
    const logged = await api<EventPage>('GET', `/api/v1/events?node_id=${agent.id}`, { auth: await asAdmin() })
    const rotated = logged.body.events.filter(e => e.event_type === 'node_token_rotated')
    expect(rotated).toHaveLength(1)
    expect(rotated[0]).toMatchObject({ severity: 'info', node_id: agent.id, message: `Agent token of ${agent.hostname} rotated`, data: { hostname: agent.hostname } })
    expect(logged.text).not.toContain(res.body.token)
  })

  it('refuses to give the master a token (409)', async () => {
    const m = await master()
    expectError(await api('POST', `/api/v1/nodes/${m.id}/token`, { auth: await asAdmin() }), 409, 'master')
  })

  it('answers 404 for an unknown node and 400 for a bad id', async () => {
    expectError(await api('POST', '/api/v1/nodes/987654/token', { auth: await asAdmin() }), 404, 'Node 987654 not found')
    expectError(await api('POST', '/api/v1/nodes/abc/token', { auth: await asAdmin() }), 400, 'id')
  })
})

describe('the master node and node ids', () => {
  it('refuses to rename the master (409) but lets its labels change', async () => {
    const m = await master()
    expectError(await api('PATCH', `/api/v1/nodes/${m.id}`, { auth: await asAdmin(), json: { hostname: 'renamed-master' } }), 409, 'NODEPULSE_HOSTNAME')
    const labelled = await api<NodeView>('PATCH', `/api/v1/nodes/${m.id}`, { auth: await asAdmin(), json: { labels: { role: 'hub' } } })
    expect(labelled.status).toBe(200)
    expect(labelled.body).toMatchObject({ hostname: server.masterHostname, labels: { role: 'hub' } })
  })

  it('takes only plain positive whole numbers as ids', async () => {
    for (const id of ['1e3', '%205', '0', '01', '-1', '2147483648', '1.0']) {
      expectError(await api('GET', `/api/v1/nodes/${id}`, { auth: await asAdmin() }), 400, 'id')
    }
  })
})
