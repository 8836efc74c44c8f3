import { asc, count, eq, sql } from 'drizzle-orm'
import type { Role, SetupState, UserView } from '../../../shared/contracts/rest'
import type { Database } from '../../db'
import { users, type UserRow } from '../../db/schema'
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from '../crypto'
import { ConflictError, NotFoundError } from '../errors'
import { startedInstance } from '../started'

const isUniqueViolation = (e: unknown): boolean => {
  const err = e as { code?: string, cause?: { code?: string } }
  return err?.code === '23505' || err?.cause?.code === '23505'
}

/** A user as the API returns it. */
export function toUserView(u: UserRow): UserView {
  return { id: u.id, username: u.username, role: u.role, created_at: u.createdAt.toISOString(), last_login_at: u.lastLoginAt?.toISOString() ?? null }
}

/** User accounts: the first-run admin, logins by password, and the admins' user management. */
export function createUsers(db: Database) {
  const countUsers = async () => (await db.select({ n: count() }).from(users))[0]!.n
  // Once a user exists setup stays closed (the last admin cannot be deleted): no query to say so again.
  let setupClosed = false
  return {
    /** Number of users (0 means the setup page is open). */
    count: countUsers,

    /** Whether the first-run setup page is open. */
    async setupState(): Promise<SetupState> {
      setupClosed ||= (await countUsers()) > 0
      return { setup_required: !setupClosed }
    },

    /** Creates a user; 409 when the name is taken. */
    async create(username: string, password: string, role: Role): Promise<UserView> {
      const passwordHash = await hashPassword(password)
      try {
        const [row] = await db.insert(users).values({ username, passwordHash, role }).returning()
        return toUserView(row!)
      }
      catch (e) {
        if (isUniqueViolation(e)) throw new ConflictError(`A user named "${username}" already exists`)
        throw e
      }
    },

    /** Creates the first admin only while no user exists; undefined when someone already did. */
    async createFirstAdmin(username: string, password: string): Promise<UserView | undefined> {
      const passwordHash = await hashPassword(password)
      // One statement: two setup requests racing cannot both create an admin.
      const rows = await db.execute<{ id: number }>(sql`
        insert into ${users} (username, password_hash, role, last_login_at)
        select ${username}, ${passwordHash}, 'admin', now() where not exists (select 1 from ${users})
        on conflict do nothing returning id`)
      const id = (Array.isArray(rows) ? rows : (rows as { rows: { id: number }[] }).rows)[0]?.id
      if (id === undefined) return undefined
      const [row] = await db.select().from(users).where(eq(users.id, id))
      return row && toUserView(row)
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
    async checkPassword(username: string, password: string): Promise<UserView | undefined> {
      const [user] = await db.select().from(users).where(eq(users.username, username))
      const ok = await verifyPassword(user?.passwordHash ?? DUMMY_PASSWORD_HASH, password)
      if (!user || !ok) return undefined
      await db.update(users).set({ lastLoginAt: new Date() }).where(eq(users.id, user.id))
      return toUserView(user)
    },

    /** Every user, by id. */
    async list(): Promise<UserView[]> {
      return (await db.select().from(users).orderBy(asc(users.id))).map(toUserView)
    },

    /** Deletes a user and their tokens; refuses an admin's own account and the last admin. */
    async remove(id: number, byUserId: number | null): Promise<void> {
      if (id === byUserId) throw new ConflictError('You cannot delete your own account; another admin can')
      await db.transaction(async (tx) => {
        const admins = await tx.select({ id: users.id }).from(users).where(eq(users.role, 'admin')).for('update')
        const [target] = await tx.select().from(users).where(eq(users.id, id))
        if (!target) throw new NotFoundError(`User ${id} not found`)
        if (target.role === 'admin' && admins.length <= 1) throw new ConflictError('This is the last admin; create another admin before deleting it')
        await tx.delete(users).where(eq(users.id, id))
      })
    },
  }
}

export type Users = ReturnType<typeof createUsers>

const running = startedInstance<Users>()
/** The running user accounts service (503 until start-up has finished). */
export const useUsers = running.use
/** Publishes the running user accounts service (start-up) or withdraws it (stop). */
export const setUsers = running.set
