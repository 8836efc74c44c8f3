import { and, asc, eq, gt, isNull, or } from 'drizzle-orm'
import type { CreatedToken, Role, TokenView } from '../../../shared/contracts/rest'
import type { Database } from '../../db'
import { apiTokens, users, type ApiTokenRow } from '../../db/schema'
import { generateToken, hashToken, safeEqualHex } from '../crypto'
import { NotFoundError } from '../errors'
import { startedInstance } from '../started'
import type { Principal } from './principal'

/** A token as the API lists it (never the secret). */
export function toTokenView(t: ApiTokenRow): TokenView {
  return { id: t.id, name: t.name, role: t.role, created_at: t.createdAt.toISOString(), last_used_at: t.lastUsedAt?.toISOString() ?? null }
}

/** API tokens for scripts, and the check of every bearer token (API or stream token). */
export function createApiTokens(db: Database) {
  return {
    /** Issues an API token; the secret is returned once and only its hash is kept. */
    async create(name: string, role: Role, userId: number | null): Promise<CreatedToken> {
      const token = generateToken('api')
      const [row] = await db.insert(apiTokens).values({ name, role, kind: 'api', tokenHash: hashToken(token), userId }).returning()
      return { ...toTokenView(row!), token }
    },

    /** Every API token, by id (stream tokens are not listed). */
    async list(): Promise<TokenView[]> {
      return (await db.select().from(apiTokens).where(eq(apiTokens.kind, 'api')).orderBy(asc(apiTokens.id))).map(toTokenView)
    },

    /** Deletes an API token: it stops working at once, and so do the streams opened with it. */
    async remove(id: number): Promise<void> {
      const rows = await db.delete(apiTokens).where(and(eq(apiTokens.id, id), eq(apiTokens.kind, 'api'))).returning({ id: apiTokens.id })
      if (!rows.length) throw new NotFoundError(`Token ${id} not found`)
    },

    /**
     * Resolves a bearer/query token to a principal; undefined for unknown or expired tokens.
     * The token is looked up by its SHA-256 (unique index), so the database compares digests of the
     * presented secret, never the secret: how long a miss takes says nothing useful about a stored token.
     * The digest found is then confirmed in constant time, as every token comparison is.
     */
    async verify(token: string): Promise<Principal | undefined> {
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
  }
}

export type ApiTokens = ReturnType<typeof createApiTokens>

const running = startedInstance<ApiTokens>()
/** The running API tokens service (503 until start-up has finished). */
export const useApiTokens = running.use
/** Publishes the running API tokens service (start-up) or withdraws it (stop). */
export const setApiTokens = running.set
