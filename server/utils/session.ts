import type { H3Event } from 'h3'
import type { Principal } from '../services/auth'
import { services } from './http'

interface SessionData { uid?: number }

const SESSION_MAX_AGE = 7 * 24 * 3600

/** The sealed cookie session (h3's iron-sealed session, secret kept by NodePulse). */
export async function getAppSession(event: H3Event) {
  const { sessionSecret, config } = await services()
  return useSession<SessionData>(event, {
    name: 'nodepulse_session',
    password: sessionSecret,
    maxAge: SESSION_MAX_AGE,
    cookie: { httpOnly: true, sameSite: 'lax', secure: config.secureCookies, path: '/' },
  })
}

/** The user behind the session cookie, if it is valid and the user still exists. */
export async function principalFromSession(event: H3Event): Promise<Principal | undefined> {
  if (!getCookie(event, 'nodepulse_session')) return undefined
  const session = await getAppSession(event)
  const uid = session.data.uid
  if (uid === undefined) return undefined
  const user = await (await services()).auth.getUser(uid)
  if (!user) return undefined
  return { userId: user.id, username: user.username, role: user.role, via: 'session' }
}

/** The authenticated caller (set by the auth middleware); 401 when there is none. */
export function requirePrincipal(event: H3Event): Principal {
  const principal = event.context.principal as Principal | undefined
  if (!principal) throw createError({ statusCode: 401, message: 'Authentication required: log in, or send Authorization: Bearer <token>' })
  return principal
}

/** The caller if they are an admin; 403 otherwise. */
export function requireAdmin(event: H3Event): Principal {
  const principal = requirePrincipal(event)
  if (principal.role !== 'admin') throw createError({ statusCode: 403, message: 'This action needs the admin role' })
  return principal
}
