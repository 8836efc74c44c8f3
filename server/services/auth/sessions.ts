import { randomBytes } from 'node:crypto'
import { and, eq, gt } from 'drizzle-orm'
import type { Database } from '../../db'
import { sessions, settings, users } from '../../db/schema'
import { hashToken, safeEqualHex } from '../crypto'
import { startedInstance } from '../started'
import type { Principal } from './principal'

/** The secret that seals session cookies: from config, else created once and kept in the database. */
export async function loadSessionSecret(db: Database, configured?: string): Promise<string> {
  if (configured) return configured
  await db.insert(settings).values({ key: 'session_secret', value: randomBytes(48).toString('base64url') }).onConflictDoNothing()
  const [row] = await db.select().from(settings).where(eq(settings.key, 'session_secret'))
  return row!.value
}

/** Server-side browser sessions: the sealed cookie carries only a session's id, kept here as a hash. */
export function createSessions(db: Database) {
  return {
    /** Starts a browser session for a user; the returned id goes into the sealed cookie. */
    async start(userId: number, maxAgeSeconds: number): Promise<string> {
      const sid = randomBytes(32).toString('base64url')
      await db.insert(sessions).values({ tokenHash: hashToken(sid), userId, expiresAt: new Date(Date.now() + maxAgeSeconds * 1000) })
      return sid
    },

    /** The user of a live session, or undefined when it was ended, expired or the user is gone (looked up by hash, as tokens are). */
    async resolve(sid: string): Promise<Principal | undefined> {
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

    /** Ends a session at once (logout): its cookie stops working everywhere. */
    async end(sid: string): Promise<void> {
      await db.delete(sessions).where(eq(sessions.tokenHash, hashToken(sid)))
    },
  }
}

export type Sessions = ReturnType<typeof createSessions>

const running = startedInstance<Sessions>()
/** The running sessions service (503 until start-up has finished). */
export const useSessions = running.use
/** Publishes the running sessions service (start-up) or withdraws it (stop). */
export const setSessions = running.set
