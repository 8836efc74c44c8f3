import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { and, asc, count, eq, gt, inArray, isNull, lt, or, sql } from 'drizzle-orm'
import type { Role, TokenView, UserView } from '../../shared/contracts/rest'
import type { Database } from '../db'
import { apiTokens, sessions, settings, users, type ApiTokenRow, type UserRow } from '../db/schema'
import { DUMMY_PASSWORD_HASH, generateToken, hashPassword, hashToken, safeEqualHex, verifyPassword } from './crypto'

/** Who is making a request. */
export interface Principal {
  userId: number | null
  username: string
  role: Role
  via: 'session' | 'token'
  /** The server-side session's row id (session logins). */
  sessionId?: number
  tokenId?: number
  /** True for a short-lived stream token, which may only open streams. */
  streamOnly?: boolean
}

/**
 * What a stream's lifetime hangs on: its session, its API token, or — for a short-lived stream
 * ticket, which only opens a stream — its user.
 */
export function streamCredential(p: Principal): string | undefined {
  if (p.sessionId !== undefined) return `session:${p.sessionId}`
  if (p.streamOnly) return p.userId === null ? undefined : `user:${p.userId}`
  return p.tokenId === undefined ? undefined : `token:${p.tokenId}`
}

/** Stream requests' credentials, set by the auth middleware and read by the hub when the stream opens. */
export const streamCredentials = new WeakMap<IncomingMessage, string>()

/** Thrown when a unique name is taken. */
export class ConflictError extends Error {}

const isUniqueViolation = (e: unknown): boolean => {
  const err = e as { code?: string, cause?: { code?: string } }
  return err?.code === '23505' || err?.cause?.code === '23505'
}

/** A user as the API returns it. */
export function toUserView(u: UserRow): UserView {
  return { id: u.id, username: u.username, role: u.role, created_at: u.createdAt.toISOString(), last_login_at: u.lastLoginAt?.toISOString() ?? null }
}

/** A token as the API lists it (never the secret). */
export function toTokenView(t: ApiTokenRow): TokenView {
  return { id: t.id, name: t.name, role: t.role, created_at: t.createdAt.toISOString(), last_used_at: t.lastUsedAt?.toISOString() ?? null }
}

/** User accounts, API tokens and stream tickets over one database. */
export function createAuth(db: Database) {
  return {
    /** Number of users (0 means the setup page is open). */
    async countUsers(): Promise<number> {
      const [row] = await db.select({ n: count() }).from(users)
      return row!.n
    },

    /** Creates a user; ConflictError when the name is taken. */
    async createUser(username: string, password: string, role: Role): Promise<UserRow> {
      const passwordHash = await hashPassword(password)
      try {
        const [row] = await db.insert(users).values({ username, passwordHash, role }).returning()
        return row!
      }
      catch (e) {
        if (isUniqueViolation(e)) throw new ConflictError(`user "${username}" already exists`)
        throw e
      }
    },

    /** Creates the first admin only while no user exists; undefined when someone already did. */
    async createFirstAdmin(username: string, password: string): Promise<UserRow | undefined> {
      const passwordHash = await hashPassword(password)
      // One statement: two setup requests racing cannot both create an admin.
      const rows = await db.execute<{ id: number }>(sql`
        insert into ${users} (username, password_hash, role, last_login_at)
        select ${username}, ${passwordHash}, 'admin', now() where not exists (select 1 from ${users})
        on conflict do nothing returning id`)
      const id = (Array.isArray(rows) ? rows : (rows as { rows: { id: number }[] }).rows)[0]?.id
      if (id === undefined) return undefined
      const [row] = await db.select().from(users).where(eq(users.id, id))
      return row
    },

    /** Makes sure `username` exists as an admin with this password (NODEPULSE_ADMIN_PASSWORD). */
    async ensureAdmin(username: string, password: string): Promise<void> {
      const [existing] = await db.select().from(users).where(eq(users.username, username))
      if (!existing) {
        await db.insert(users).values({ username, passwordHash: await hashPassword(password), role: 'admin' }).onConflictDoNothing()
        return
      }
      if (existing.role !== 'admin' || !(await verifyPassword(existing.passwordHash, password))) {
        await db.update(users).set({ role: 'admin', passwordHash: await hashPassword(password), updatedAt: new Date() }).where(eq(users.id, existing.id))
      }
    },

    /** The user if the password matches; the same work is done for unknown names. */
    async checkPassword(username: string, password: string): Promise<UserRow | undefined> {
      const [user] = await db.select().from(users).where(eq(users.username, username))
      const ok = await verifyPassword(user?.passwordHash ?? DUMMY_PASSWORD_HASH, password)
      if (!user || !ok) return undefined
      await db.update(users).set({ lastLoginAt: new Date() }).where(eq(users.id, user.id))
      return user
    },

    async getUser(id: number): Promise<UserRow | undefined> {
      const [user] = await db.select().from(users).where(eq(users.id, id))
      return user
    },

    async listUsers(): Promise<UserRow[]> {
      return db.select().from(users).orderBy(asc(users.id))
    },

    /** Deletes a user and their tokens; refuses to delete the last admin. */
    async deleteUser(id: number): Promise<'deleted' | 'missing' | 'last-admin'> {
      return db.transaction(async (tx) => {
        const admins = await tx.select({ id: users.id }).from(users).where(eq(users.role, 'admin')).for('update')
        const [target] = await tx.select().from(users).where(eq(users.id, id))
        if (!target) return 'missing'
        if (target.role === 'admin' && admins.length <= 1) return 'last-admin'
        await tx.delete(users).where(eq(users.id, id))
        return 'deleted'
      })
    },

    /** Issues an API token; the secret is returned once and only its hash is kept. */
    async createApiToken(name: string, role: Role, userId: number | null): Promise<{ token: string, row: ApiTokenRow }> {
      const token = generateToken('api')
      const [row] = await db.insert(apiTokens).values({ name, role, kind: 'api', tokenHash: hashToken(token), userId }).returning()
      return { token, row: row! }
    },

    async listApiTokens(): Promise<ApiTokenRow[]> {
      return db.select().from(apiTokens).where(eq(apiTokens.kind, 'api')).orderBy(asc(apiTokens.id))
    },

    async deleteApiToken(id: number): Promise<boolean> {
      const rows = await db.delete(apiTokens).where(and(eq(apiTokens.id, id), eq(apiTokens.kind, 'api'))).returning({ id: apiTokens.id })
      return rows.length > 0
    },

    /** A short-lived stream ticket for `?token=`, valid (not single-use) until it expires. */
    async createStreamToken(principal: Principal, ttlSeconds: number): Promise<{ token: string, expiresAt: Date }> {
      const token = generateToken('stream')
      const expiresAt = new Date(Date.now() + ttlSeconds * 1000)
      await db.insert(apiTokens).values({ name: `stream:${principal.username}`, role: principal.role, kind: 'stream', tokenHash: hashToken(token), userId: principal.userId, expiresAt })
      return { token, expiresAt }
    },

    /**
     * Resolves a bearer/query token to a principal; undefined for unknown or expired tokens.
     * The token is looked up by its SHA-256 (unique index), so the database compares digests of the
     * presented secret, never the secret: how long a miss takes says nothing useful about a stored token.
     * The digest found is then confirmed in constant time, as every token comparison is.
     */
    async verifyToken(token: string): Promise<Principal | undefined> {
      if (token.length > 200) return undefined
      const hash = hashToken(token)
      const [row] = await db.select({ token: apiTokens, username: users.username }).from(apiTokens)
        .leftJoin(users, eq(users.id, apiTokens.userId))
        .where(and(eq(apiTokens.tokenHash, hash), or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, new Date()))))
      if (!row || !safeEqualHex(row.token.tokenHash, hash)) return undefined
      // A stream ticket acts for its user and loses its power with the user.
      if (row.token.kind === 'stream' && row.token.userId !== null && row.username === null) return undefined
      const lastUsed = row.token.lastUsedAt?.getTime() ?? 0
      if (Date.now() - lastUsed > 60_000) {
        await db.update(apiTokens).set({ lastUsedAt: new Date() }).where(eq(apiTokens.id, row.token.id))
      }
      return { userId: row.token.userId, username: row.username ?? `token:${row.token.name}`, role: row.token.role, via: 'token', tokenId: row.token.id, streamOnly: row.token.kind === 'stream' }
    },

    /** Deletes expired stream tickets and sessions. */
    async purgeExpiredTokens(): Promise<number> {
      const now = new Date()
      const rows = await db.delete(apiTokens).where(lt(apiTokens.expiresAt, now)).returning({ id: apiTokens.id })
      const ended = await db.delete(sessions).where(lt(sessions.expiresAt, now)).returning({ id: sessions.id })
      return rows.length + ended.length
    },

    /** Starts a browser session for a user; the returned id goes into the sealed cookie. */
    async startSession(userId: number, maxAgeSeconds: number): Promise<string> {
      const sid = randomBytes(32).toString('base64url')
      await db.insert(sessions).values({ tokenHash: hashToken(sid), userId, expiresAt: new Date(Date.now() + maxAgeSeconds * 1000) })
      return sid
    },

    /** The user of a live session, or undefined when it was ended, expired or the user is gone (looked up by hash, as tokens are). */
    async resolveSession(sid: string): Promise<Principal | undefined> {
      const hash = hashToken(sid)
      const [row] = await db.select({ session: sessions, user: users }).from(sessions)
        .innerJoin(users, eq(users.id, sessions.userId))
        .where(and(eq(sessions.tokenHash, hash), gt(sessions.expiresAt, new Date())))
      if (!row || !safeEqualHex(row.session.tokenHash, hash)) return undefined
      if (Date.now() - row.session.lastSeenAt.getTime() > 60_000) {
        await db.update(sessions).set({ lastSeenAt: new Date() }).where(eq(sessions.id, row.session.id))
      }
      return { userId: row.user.id, username: row.user.username, role: row.user.role, via: 'session', sessionId: row.session.id }
    },

    /**
     * Which of the credentials open streams were authenticated with still hold: a session not ended
     * or expired, an API token not deleted, the user of a stream ticket still there. One query per
     * kind for all streams, on the heartbeat.
     */
    async liveCredentials(credentials: Iterable<string>): Promise<Set<string>> {
      const ids = { session: [] as number[], token: [] as number[], user: [] as number[] }
      for (const c of credentials) {
        const [kind, id] = c.split(':')
        if ((kind === 'session' || kind === 'token' || kind === 'user') && id) ids[kind].push(Number(id))
      }
      const now = new Date()
      const live = new Set<string>()
      if (ids.session.length) {
        const rows = await db.select({ id: sessions.id }).from(sessions).where(and(inArray(sessions.id, ids.session), gt(sessions.expiresAt, now)))
        rows.forEach(r => live.add(`session:${r.id}`))
      }
      if (ids.token.length) {
        const rows = await db.select({ id: apiTokens.id }).from(apiTokens).where(and(inArray(apiTokens.id, ids.token), or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, now))))
        rows.forEach(r => live.add(`token:${r.id}`))
      }
      if (ids.user.length) {
        const rows = await db.select({ id: users.id }).from(users).where(inArray(users.id, ids.user))
        rows.forEach(r => live.add(`user:${r.id}`))
      }
      return live
    },

    /** Ends a session at once (logout): its cookie stops working everywhere. */
    async endSession(sid: string): Promise<void> {
      await db.delete(sessions).where(eq(sessions.tokenHash, hashToken(sid)))
    },

    /** The secret that seals session cookies: from config, else created once and kept in the database. */
    async sessionSecret(configured?: string): Promise<string> {
      if (configured) return configured
      await db.insert(settings).values({ key: 'session_secret', value: randomBytes(48).toString('base64url') }).onConflictDoNothing()
      const [row] = await db.select().from(settings).where(eq(settings.key, 'session_secret'))
      return row!.value
    },
  }
}

export type Auth = ReturnType<typeof createAuth>
