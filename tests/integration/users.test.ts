import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { UserView } from '../../shared/contracts/rest'
import { api, asAdmin, createUser, expectError, login, server, unique } from './helpers'

describe('users', () => {
  it('GET /api/v1/users lists the admin from the environment', async () => {
    const res = await api<UserView[]>('GET', '/api/v1/users', { auth: await asAdmin() })
    expect(res.status).toBe(200)
    const admin = res.body.find(u => u.username === server.adminUser)
    expect(admin).toEqual({ id: expect.any(Number), username: server.adminUser, role: 'admin', created_at: expect.any(String), last_login_at: expect.any(String) })
    expect(res.text).not.toMatch(/password|scrypt/i)
  })

  it('POST /api/v1/users creates a viewer who can log in', async () => {
    const username = unique('new-viewer')
    const password = `pw-${randomBytes(6).toString('hex')}`
    const res = await api<UserView>('POST', '/api/v1/users', { auth: await asAdmin(), json: { username, password, role: 'viewer' } })
    expect(res.status).toBe(201)
    expect(res.body).toEqual({ id: expect.any(Number), username, role: 'viewer', created_at: expect.any(String), last_login_at: null })
    expect(res.text).not.toContain(password)
    await login(username, password)
  })

  it('answers 409 for a taken username', async () => {
    const user = await createUser()
    const res = await api('POST', '/api/v1/users', { auth: await asAdmin(), json: { username: user.username, password: 'another-password', role: 'viewer' } })
    expectError(res, 409, `A user named "${user.username}" already exists`)
  })

  it('answers 422 for a bad role, a short password or a bad username, naming the field', async () => {
    const auth = await asAdmin()
    expectError(await api('POST', '/api/v1/users', { auth, json: { username: unique('u'), password: 'long-enough', role: 'owner' } }), 422, 'role')
    expectError(await api('POST', '/api/v1/users', { auth, json: { username: unique('u'), password: 'short', role: 'viewer' } }), 422, 'password')
    expectError(await api('POST', '/api/v1/users', { auth, json: { username: 'has space', password: 'long-enough', role: 'viewer' } }), 422, 'username')
  })

  it('a viewer can read nodes but gets 403 on writes and on user management', async () => {
    const viewer = await createUser()
    const nodes = await api<unknown[]>('GET', '/api/v1/nodes', { auth: viewer.auth })
    expect(nodes.status).toBe(200)
    expect(nodes.body.length).toBeGreaterThanOrEqual(1)
    expectError(await api('POST', '/api/v1/nodes', { auth: viewer.auth, json: { hostname: unique('x') } }), 403, 'admin')
    expectError(await api('GET', '/api/v1/users', { auth: viewer.auth }), 403, 'admin')
    expectError(await api('POST', '/api/v1/users', { auth: viewer.auth, json: { username: unique('x'), password: 'long-enough', role: 'admin' } }), 403)
    expectError(await api('DELETE', `/api/v1/users/${viewer.id}`, { auth: viewer.auth }), 403)
  })

  it('DELETE /api/v1/users/:id deletes the user: 204, their session and password stop working, then 404', async () => {
    const viewer = await createUser()
    const del = await api('DELETE', `/api/v1/users/${viewer.id}`, { auth: await asAdmin() })
    expect(del.status).toBe(204)
    expect(del.text).toBe('')
    expectError(await api('GET', '/api/v1/auth/me', { auth: viewer.auth }), 401)
    expectError(await api('POST', '/api/v1/auth/login', { json: { username: viewer.username, password: viewer.password } }), 401)
    expectError(await api('DELETE', `/api/v1/users/${viewer.id}`, { auth: await asAdmin() }), 404, `User ${viewer.id} not found`)
    const list = await api<UserView[]>('GET', '/api/v1/users', { auth: await asAdmin() })
    expect(list.body.map(u => u.id)).not.toContain(viewer.id)
  })

  it('refuses to let an admin delete their own account (409), so the last admin always stays', async () => {
    const me = await api<{ id: number }>('GET', '/api/v1/auth/me', { auth: await asAdmin() })
    expectError(await api('DELETE', `/api/v1/users/${me.body.id}`, { auth: await asAdmin() }), 409, 'your own account')
    expect((await api('GET', '/api/v1/auth/me', { auth: await asAdmin() })).status).toBe(200)
  })

  it('lets another admin delete an admin, but not themselves', async () => {
    const second = await createUser('admin', 'second-admin')
    expectError(await api('DELETE', `/api/v1/users/${second.id}`, { auth: second.auth }), 409, 'your own account')
    expect((await api('DELETE', `/api/v1/users/${second.id}`, { auth: await asAdmin() })).status).toBe(204)
    expectError(await api('GET', '/api/v1/auth/me', { auth: second.auth }), 401)
  })

  it('answers 400 for a non-numeric or non-positive id', async () => {
    expectError(await api('DELETE', '/api/v1/users/abc', { auth: await asAdmin() }), 400, 'id')
    expectError(await api('DELETE', '/api/v1/users/0', { auth: await asAdmin() }), 400, 'id')
  })
})
