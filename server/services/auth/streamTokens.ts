import type { IncomingMessage } from 'node:http'
import { and, gt, inArray, isNull, or } from 'drizzle-orm'
import type { StreamTokenView } from '../../../shared/contracts/rest'
import type { Database } from '../../db'
import { apiTokens, sessions, users } from '../../db/schema'
import { generateToken, hashToken } from '../crypto'
import { startedInstance } from '../started'
import type { Principal } from './principal'

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

/** Whose streams count together against NODEPULSE_SSE_MAX_CLIENTS_PER_USER: the user, else the API token. */
export function streamOwner(p: Principal): string | undefined {
  if (p.userId !== null) return `user:${p.userId}`
  return p.tokenId === undefined ? undefined : `token:${p.tokenId}`
}

/** Stream requests' owners, set by the auth middleware and read by the hub when the stream opens. */
export const streamOwners = new WeakMap<IncomingMessage, string>()

/** Short-lived stream tickets for `?token=`, and the check that open streams' credentials still hold. */
export function createStreamTokens(db: Database, ttlSeconds: number) {
  return {
    /** A stream ticket for `?token=`, valid (not single-use) for NODEPULSE_STREAM_TOKEN_TTL seconds. */
    async issue(principal: Principal): Promise<StreamTokenView> {
      const token = generateToken('stream')
      const expiresAt = new Date(Date.now() + ttlSeconds * 1000)
      await db.insert(apiTokens).values({ name: `stream:${principal.username}`, role: principal.role, kind: 'stream', tokenHash: hashToken(token), userId: principal.userId, expiresAt })
      return { token, expires_at: expiresAt.toISOString(), expires_in: ttlSeconds }
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
  }
}

export type StreamTokens = ReturnType<typeof createStreamTokens>

const running = startedInstance<StreamTokens>()
/** The running stream tokens service (503 until start-up has finished). */
export const useStreamTokens = running.use
/** Publishes the running stream tokens service (start-up) or withdraws it (stop). */
export const setStreamTokens = running.set
