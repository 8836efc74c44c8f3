import { startedInstance } from './started'

/**
 * A fixed-window counter per key (login attempts). Memory is bounded: at `maxKeys` the expired
 * keys are pruned, and if every key is still live the oldest windows are forgotten, so a caller
 * with many addresses costs at most `maxKeys` entries.
 */
export function createFailureLimiter(maxFailures: number, windowMs: number, maxKeys = 10_000) {
  // Insertion order is window-start order: a new window is re-inserted at the end.
  const failures = new Map<string, { count: number, resetAt: number }>()
  const makeRoom = (now: number) => {
    for (const [key, entry] of failures) if (entry.resetAt <= now) failures.delete(key)
    // Still full of live windows: forget the oldest tenth at once, so the next inserts do not each scan.
    if (failures.size < maxKeys) return
    const target = Math.floor(maxKeys * 0.9)
    for (const key of failures.keys()) {
      if (failures.size <= target) break
      failures.delete(key)
    }
  }
  return {
    /** Seconds until `key` may try again, or 0 when it may now. */
    retryAfter(key: string, now = Date.now()): number {
      const entry = failures.get(key)
      if (!entry || entry.resetAt <= now || entry.count < maxFailures) return 0
      return Math.ceil((entry.resetAt - now) / 1000)
    },
    /** Counts one failure (or attempt) of `key`. */
    fail(key: string, now = Date.now()): void {
      const entry = failures.get(key)
      if (entry && entry.resetAt > now) {
        entry.count++
        return
      }
      failures.delete(key)
      if (failures.size >= maxKeys) makeRoom(now)
      failures.set(key, { count: 1, resetAt: now + windowMs })
    },
    /** Takes back one counted attempt that turned out a success. */
    refund(key: string): void {
      const entry = failures.get(key)
      if (entry && entry.count > 0) entry.count--
    },
    succeed(key: string): void {
      failures.delete(key)
    },
    /** Keys held now (bounded by `maxKeys`). */
    size(): number {
      return failures.size
    },
  }
}

/**
 * Login attempts counted per (client address, username) and per client address alone, the latter
 * allowing `perClientFactor` times as many: one client cannot try one password on many usernames.
 * An attempt is counted when it starts, before the password is hashed, so parallel guesses are cut
 * off at the limit exactly like a sequence. A success clears its username's count and takes back
 * its own attempt from the client's, so a valid account cannot reset the client's count.
 */
export function createLoginLimiter(maxAttempts: number, windowMs: number, perClientFactor = 5, maxKeys = 10_000) {
  const byUser = createFailureLimiter(maxAttempts, windowMs, maxKeys)
  const byClient = createFailureLimiter(maxAttempts * perClientFactor, windowMs, maxKeys)
  const userKey = (ip: string, username: string) => `${ip}|${username.toLowerCase()}`
  const retryAfter = (ip: string, username: string, now: number) => Math.max(byClient.retryAfter(ip, now), byUser.retryAfter(userKey(ip, username), now))
  return {
    /** Seconds until this client may try this username again, or 0 when it may now. */
    retryAfter(ip: string, username: string, now = Date.now()): number {
      return retryAfter(ip, username, now)
    },
    /** Starts an attempt: the seconds to wait when over the limit (nothing counted), else 0 and the attempt counts. */
    attempt(ip: string, username: string, now = Date.now()): number {
      const wait = retryAfter(ip, username, now)
      if (wait) return wait
      byClient.fail(ip, now)
      byUser.fail(userKey(ip, username), now)
      return 0
    },
    succeed(ip: string, username: string): void {
      byUser.succeed(userKey(ip, username))
      byClient.refund(ip)
    },
    /** Keys held by both counters (bounded). */
    size(): number {
      return byUser.size() + byClient.size()
    },
  }
}

export type LoginLimiter = ReturnType<typeof createLoginLimiter>

const running = startedInstance<LoginLimiter>()
/** The running login limiter (503 until start-up has finished). */
export const useLoginLimiter = running.use
/** Publishes the running login limiter (start-up) or withdraws it (stop). */
export const setLoginLimiter = running.set
