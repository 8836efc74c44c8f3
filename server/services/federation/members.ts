import { and, asc, eq, notInArray, sql } from 'drizzle-orm'
import type { CreateMemberBody, MemberView } from '../../../shared/contracts/seed003'
import type { Database } from '../../db'
import { members, type MemberRow } from '../../db/schema'
import { ConflictError, NotFoundError } from '../errors'
import type { Registry } from '../registry'
import { startedInstance } from '../started'
import type { ClusterConfig } from './config'
import { MEMBER_LABEL } from './memberApi'

/** A member as the API shows it: never its token. */
export function toMemberView(row: MemberRow, nodes: number): MemberView {
  return {
    id: row.id, name: row.name, url: row.url, origin: row.origin, reachable: row.reachable, last_error: row.lastError,
    last_polled_at: row.lastPolledAt?.toISOString() ?? null, last_ok_at: row.lastOkAt?.toISOString() ?? null, nodes,
  }
}

/** The members this server aggregates (seed 003): the file seeds them, the API adds and removes them. */
export function createMembers(db: Database, registry: Registry) {
  const nodeCount = (name: string) => registry.list().filter(n => n.kind === 'member' && n.labels[MEMBER_LABEL.member] === name).length

  return {
    /**
     * Adds the members NODEPULSE_CONFIG lists, or updates their url and token (start-up); a member the
     * file listed before and lists no more is removed (its nodes stay, like `remove`).
     */
    async seed(config: ClusterConfig): Promise<void> {
      for (const m of config.members) {
        await db.insert(members).values({ name: m.name, url: m.url, token: m.token, origin: 'file' })
          .onConflictDoUpdate({ target: members.name, set: { url: m.url, token: m.token, origin: 'file', updatedAt: sql`now()` } })
      }
      const listed = config.members.map(m => m.name)
      await db.delete(members).where(listed.length ? and(eq(members.origin, 'file'), notInArray(members.name, listed)) : eq(members.origin, 'file'))
    },

    /** Every member row, tokens included (the poller's view). */
    rows: (): Promise<MemberRow[]> => db.select().from(members).orderBy(asc(members.id)),

    /** Every member as the API shows it. */
    async list(): Promise<MemberView[]> {
      return (await db.select().from(members).orderBy(asc(members.id))).map(r => toMemberView(r, nodeCount(r.name)))
    },

    /** Adds a member; 409 when the name is taken. */
    async create(body: CreateMemberBody): Promise<MemberView> {
      const [row] = await db.insert(members).values({ ...body, origin: 'api' }).onConflictDoNothing({ target: members.name }).returning()
      if (!row) throw new ConflictError(`A member named "${body.name}" already exists: remove it first or pick another name`)
      return toMemberView(row, 0)
    },

    /**
     * Adds (or points at its new address) a member found by mDNS. A server already polled at that URL
     * stays under its member's name; a member of that name configured by hand elsewhere is left alone.
     */
    async adopt(found: { name: string, url: string, token: string }): Promise<{ adopted: boolean, id: number, name: string, url: string }> {
      const [same] = await db.select().from(members).where(eq(members.url, found.url)).orderBy(asc(members.id)).limit(1)
      if (same) return { adopted: true, id: same.id, name: same.name, url: same.url }
      const [row] = await db.insert(members).values({ ...found, origin: 'mdns' })
        .onConflictDoUpdate({ target: members.name, set: { url: found.url, token: found.token, updatedAt: sql`now()` }, setWhere: sql`${members.origin} = 'mdns'` })
        .returning()
      if (row) return { adopted: true, id: row.id, name: row.name, url: row.url }
      const [kept] = await db.select().from(members).where(eq(members.name, found.name))
      return { adopted: false, id: kept!.id, name: kept!.name, url: kept!.url }
    },

    /** Removes a member; its nodes stay, with their history, and turn stale. 404 when there is none. */
    async remove(id: number): Promise<void> {
      const [row] = await db.delete(members).where(eq(members.id, id)).returning({ id: members.id })
      if (!row) throw new NotFoundError(`Member ${id} not found`)
    },
  }
}

export type Members = ReturnType<typeof createMembers>

const running = startedInstance<Members>()
/** The running member list (503 until start-up has finished). */
export const useMembers = running.use
/** Publishes the running member list (start-up) or withdraws it (stop). */
export const setMembers = running.set
