import type { H3Event } from 'h3'
import type { MeView, UserView } from '../../shared/contracts/rest'
import type { Principal } from '../services/auth/principal'
import { useSessions } from '../services/auth/sessions'
import { useInstance } from '../services/instance'

interface SessionData { sid?: string }

const SESSION_MAX_AGE = 7 * 24 * 3600
const COOKIE = 'nodepulse_session'

/** The sealed cookie (h3's iron-sealed session); it carries only the id of a server-side session. */
async function cookieSession(event: H3Event) {
  const { sessionSecret, config } = await useInstance()
  return useSession<SessionData>(event, {
    name: COOKIE,
    password: sessionSecret,
    maxAge: SESSION_MAX_AGE,
    cookie: { httpOnly: true, sameSite: 'lax', secure: config.secureCookies, path: '/' },
  })
}

/** Who is calling, as `/me`, login and setup answer it. */
export async function toMeView(p: Pick<Principal, 'userId' | 'username' | 'role' | 'via'>): Promise<MeView> {
  const { config } = await useInstance()
  return { id: p.userId, username: p.username, role: p.role, via: p.via, valkey: config.valkey.length > 0 }
}

/** Logs a user in: a new server-side session, referenced from the sealed cookie; answers who is now logged in. */
export async function startUserSession(event: H3Event, user: UserView): Promise<MeView> {
  const sessions = await useSessions()
  const session = await cookieSession(event)
  if (session.data.sid) await sessions.end(session.data.sid)
  await session.update({ sid: await sessions.start(user.id, SESSION_MAX_AGE) })
  return toMeView({ userId: user.id, username: user.username, role: user.role, via: 'session' })
}

/** Logs out: the server-side session is deleted, so a copy of the cookie is worthless too. */
export async function endUserSession(event: H3Event): Promise<void> {
  const session = await cookieSession(event)
  if (session.data.sid) await (await useSessions()).end(session.data.sid)
  await session.clear()
}

/** The user behind the session cookie, if its session is live and the user still exists. */
export async function principalFromSession(event: H3Event): Promise<Principal | undefined> {
  if (!getCookie(event, COOKIE)) return undefined
  const sid = (await cookieSession(event)).data.sid
  return sid ? (await useSessions()).resolve(sid) : undefined
}

/** The authenticated caller (set by the auth middleware); 401 when there is none. */
export function requirePrincipal(event: H3Event): Principal {
  const principal = event.context.principal
  if (!principal) throw createError({ statusCode: 401, message: 'Authentication required: log in, or send Authorization: Bearer <token>' })
  return principal
}

/** The caller if they are an admin; 403 otherwise. */
export function requireAdmin(event: H3Event): Principal {
  const principal = requirePrincipal(event)
  if (principal.role !== 'admin') throw createError({ statusCode: 403, message: 'This action needs the admin role' })
  return principal
}
