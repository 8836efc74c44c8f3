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
