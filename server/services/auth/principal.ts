import type { Role } from '../../../shared/contracts/rest'

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
