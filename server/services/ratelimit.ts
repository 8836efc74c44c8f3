import { startedInstance } from './started'

/** A fixed-window failure counter per key (login attempts); memory is bounded by pruning expired keys. */
export function createFailureLimiter(maxFailures: number, windowMs: number, maxKeys = 10_000) {
  const failures = new Map<string, { count: number, resetAt: number }>()
  const prune = (now: number) => {
    for (const [key, entry] of failures) if (entry.resetAt <= now) failures.delete(key)
  }
  return {
    /** Seconds until `key` may try again, or 0 when it may now. */
    retryAfter(key: string, now = Date.now()): number {
      const entry = failures.get(key)
      if (!entry || entry.resetAt <= now || entry.count < maxFailures) return 0
      return Math.ceil((entry.resetAt - now) / 1000)
    },
    fail(key: string, now = Date.now()): void {
      if (failures.size >= maxKeys) prune(now)
      const entry = failures.get(key)
      if (!entry || entry.resetAt <= now) failures.set(key, { count: 1, resetAt: now + windowMs })
      else entry.count++
    },
    succeed(key: string): void {
      failures.delete(key)
    },
  }
}

/**
 * Failed logins counted per (client address, username) and per client address alone, the latter
 * allowing `perClientFactor` times as many: one client cannot try one password on many usernames.
 * A success clears its username's count but not the client's, so a valid account cannot reset it.
 */
export function createLoginLimiter(maxAttempts: number, windowMs: number, perClientFactor = 5) {
  const byUser = createFailureLimiter(maxAttempts, windowMs)
  const byClient = createFailureLimiter(maxAttempts * perClientFactor, windowMs)
  const userKey = (ip: string, username: string) => `${ip}|${username.toLowerCase()}`
  return {
    /** Seconds until this client may try this username again, or 0 when it may now. */
    retryAfter(ip: string, username: string, now = Date.now()): number {
      return Math.max(byClient.retryAfter(ip, now), byUser.retryAfter(userKey(ip, username), now))
    },
    fail(ip: string, username: string, now = Date.now()): void {
      byClient.fail(ip, now)
      byUser.fail(userKey(ip, username), now)
    },
    succeed(ip: string, username: string): void {
      byUser.succeed(userKey(ip, username))
    },
  }
}

export type LoginLimiter = ReturnType<typeof createLoginLimiter>

const running = startedInstance<LoginLimiter>()
/** The running login limiter (503 until start-up has finished). */
export const useLoginLimiter = running.use
/** Publishes the running login limiter (start-up) or withdraws it (stop). */
export const setLoginLimiter = running.set
