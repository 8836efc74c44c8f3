import { describe, expect, it } from 'vitest'
import { createFailureLimiter, createLoginLimiter } from '../../server/services/ratelimit'

const t0 = 1_700_000_000_000

describe('createFailureLimiter', () => {
  it('lets a key try until it reaches the limit, then says how long to wait', () => {
    const limiter = createFailureLimiter(3, 60_000)
    limiter.fail('a', t0)
    limiter.fail('a', t0 + 10_000)
    expect(limiter.retryAfter('a', t0 + 10_000)).toBe(0)
    limiter.fail('a', t0 + 20_000)
    // Fixed window from the first failure: 60 s - 20 s.
    expect(limiter.retryAfter('a', t0 + 20_000)).toBe(40)
    expect(limiter.retryAfter('a', t0 + 58_500)).toBe(2)
  })

  it('opens again when the window has passed', () => {
    const limiter = createFailureLimiter(1, 60_000)
    limiter.fail('a', t0)
    expect(limiter.retryAfter('a', t0 + 59_999)).toBe(1)
    expect(limiter.retryAfter('a', t0 + 60_000)).toBe(0)
    // A failure after the window starts a new count.
    limiter.fail('a', t0 + 60_000)
    expect(limiter.retryAfter('a', t0 + 60_000)).toBe(60)
  })

  it('keeps keys apart', () => {
    const limiter = createFailureLimiter(2, 60_000)
    limiter.fail('1.2.3.4|alice', t0)
    limiter.fail('1.2.3.4|alice', t0)
    expect(limiter.retryAfter('1.2.3.4|alice', t0)).toBe(60)
    expect(limiter.retryAfter('1.2.3.4|bob', t0)).toBe(0)
    expect(limiter.retryAfter('5.6.7.8|alice', t0)).toBe(0)
  })

  it('forgets a key after a success', () => {
    const limiter = createFailureLimiter(2, 60_000)
    limiter.fail('a', t0)
    limiter.succeed('a')
    limiter.fail('a', t0 + 1)
    expect(limiter.retryAfter('a', t0 + 1)).toBe(0)
  })

  it('still limits live keys after pruning expired ones at capacity', () => {
    const limiter = createFailureLimiter(1, 60_000, 3)
    limiter.fail('old-1', t0)
    limiter.fail('old-2', t0)
    limiter.fail('live', t0 + 50_000)
    // At capacity: this failure prunes the expired keys and is still counted.
    limiter.fail('new', t0 + 70_000)
    expect(limiter.retryAfter('live', t0 + 70_000)).toBe(40)
    expect(limiter.retryAfter('new', t0 + 70_000)).toBe(60)
    expect(limiter.retryAfter('old-1', t0 + 70_000)).toBe(0)
  })
})

describe('createLoginLimiter', () => {
  it('limits one username per client at the limit', () => {
    const limiter = createLoginLimiter(3, 60_000)
    for (let i = 0; i < 3; i++) limiter.attempt('1.2.3.4', 'Alice', t0)
    expect(limiter.retryAfter('1.2.3.4', 'alice', t0)).toBe(60)
    expect(limiter.retryAfter('1.2.3.4', 'bob', t0)).toBe(0)
    expect(limiter.retryAfter('5.6.7.8', 'alice', t0)).toBe(0)
  })

  it('limits a client spraying usernames at five times the limit, for every username', () => {
    const limiter = createLoginLimiter(3, 60_000)
    // 15 names, one failure each: no username reaches 3, but the client reaches 3 × 5.
    for (let i = 0; i < 14; i++) limiter.attempt('1.2.3.4', `user-${i}`, t0 + i)
    expect(limiter.retryAfter('1.2.3.4', 'someone-else', t0 + 14)).toBe(0)
    limiter.attempt('1.2.3.4', 'user-14', t0 + 14)
    expect(limiter.retryAfter('1.2.3.4', 'someone-else', t0 + 14)).toBe(60)
    expect(limiter.retryAfter('1.2.3.4', 'user-0', t0 + 14)).toBe(60)
    // Other clients are not affected, and the window ends the block.
    expect(limiter.retryAfter('5.6.7.8', 'someone-else', t0 + 14)).toBe(0)
    expect(limiter.retryAfter('1.2.3.4', 'someone-else', t0 + 60_000)).toBe(0)
  })

  it('does not let a successful login reset the client\'s count', () => {
    const limiter = createLoginLimiter(2, 60_000, 2)
    limiter.attempt('1.2.3.4', 'a', t0)
    limiter.attempt('1.2.3.4', 'b', t0)
    limiter.attempt('1.2.3.4', 'c', t0)
    expect(limiter.attempt('1.2.3.4', 'mine', t0)).toBe(0)
    limiter.succeed('1.2.3.4', 'mine')
    limiter.attempt('1.2.3.4', 'd', t0)
    expect(limiter.retryAfter('1.2.3.4', 'mine', t0)).toBe(60)
  })

  it('counts an attempt when it starts: the attempt past the limit is refused before any password check', () => {
    const limiter = createLoginLimiter(3, 60_000)
    // A burst: every attempt starts before any of them has finished.
    const waits = Array.from({ length: 10 }, () => limiter.attempt('1.2.3.4', 'alice', t0))
    expect(waits.filter(w => w === 0)).toHaveLength(3)
    expect(waits.slice(3).every(w => w === 60)).toBe(true)
  })

  it('a success takes back its own attempt from the client\'s count', () => {
    const limiter = createLoginLimiter(1, 60_000, 2)
    for (let i = 0; i < 5; i++) {
      expect(limiter.attempt('1.2.3.4', `user-${i}`, t0)).toBe(0)
      limiter.succeed('1.2.3.4', `user-${i}`)
    }
    expect(limiter.retryAfter('1.2.3.4', 'anyone', t0)).toBe(0)
  })

  it('bounds its memory under many client addresses', () => {
    const limiter = createLoginLimiter(5, 60_000, 5, 1000)
    for (let i = 0; i < 50_000; i++) limiter.attempt(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, 'admin', t0 + i)
    expect(limiter.size()).toBeLessThanOrEqual(2000)
    // The newest addresses are still counted.
    const last = '10.0.195.79'
    for (let i = 0; i < 4; i++) limiter.attempt(last, 'admin', t0 + 50_000)
    expect(limiter.retryAfter(last, 'admin', t0 + 50_000)).toBeGreaterThan(0)
  })
})
