import type { H3Event } from 'h3'
import { useInstance } from '../services/instance'

/**
 * The client's address for rate limits: the socket's peer, or behind a trusted proxy
 * (NODEPULSE_TRUST_PROXY=true) the last X-Forwarded-For entry, the one that proxy appended
 * (earlier entries are whatever the client sent).
 */
export async function clientAddress(event: H3Event): Promise<string> {
  const { config } = await useInstance()
  const forwarded = config.trustProxy ? getRequestHeader(event, 'x-forwarded-for')?.split(',').map(s => s.trim()).filter(Boolean).at(-1) : undefined
  return forwarded ?? getRequestIP(event) ?? 'unknown'
}

/**
 * The origin the client used: its Host header, or X-Forwarded-Host/-Proto only behind a trusted
 * proxy (NODEPULSE_TRUST_PROXY=true); anyone can send those headers to a server reached directly.
 */
export async function requestOrigin(event: H3Event): Promise<URL> {
  const { config } = await useInstance()
  return getRequestURL(event, { xForwardedHost: config.trustProxy, xForwardedProto: config.trustProxy })
}

/** Answers 429 with Retry-After when a limiter said to wait `wait` seconds (0: go ahead). */
export function assertAttemptAllowed(event: H3Event, wait: number, what: string): void {
  if (!wait) return
  setResponseHeader(event, 'retry-after', wait)
  throw createError({ statusCode: 429, message: `${what}; try again in ${wait} seconds` })
}
