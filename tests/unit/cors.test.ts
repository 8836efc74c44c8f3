import { describe, expect, it } from 'vitest'
import { parseCorsOrigins } from '../../server/services/config'
import { corsRoute, originAllowed, preflightHeaders } from '../../server/services/cors'
import { loggedMessage } from '../../server/services/requestLog'

describe('NODEPULSE_CORS_ORIGINS', () => {
  it('is none by default, * for any, or a list of exact origins', () => {
    expect(parseCorsOrigins(undefined)).toEqual([])
    expect(parseCorsOrigins('')).toEqual([])
    expect(parseCorsOrigins('*')).toBe('*')
    expect(parseCorsOrigins('https://dash.example.com, http://127.0.0.1:8080 HTTP://Other.example:81')).toEqual(['https://dash.example.com', 'http://127.0.0.1:8080', 'http://other.example:81'])
  })

  it('refuses what is not an origin, naming it', () => {
    for (const bad of ['dash.example.com', 'https://dash.example.com/app', 'ftp://x.example', 'https://x.example?q=1', '*,https://a.example']) {
      expect(() => parseCorsOrigins(bad), bad).toThrow('NODEPULSE_CORS_ORIGINS')
    }
  })
})

describe('CORS routes', () => {
  it('covers the streams and getting a stream token, nothing else', () => {
    for (const path of ['/stream/stats', '/stream/all', '/api/v1/metrics/nodes/stats/stream', '/api/v1/metrics/nodes/3/stats/stream', '/api/v1/events/stream']) {
      expect(corsRoute('GET', path), path).toBe('stream')
    }
    expect(corsRoute('POST', '/api/v1/auth/stream-token')).toBe('stream-token')
    for (const [method, path] of [['POST', '/stream/stats'], ['GET', '/api/v1/nodes'], ['DELETE', '/api/v1/nodes/3'], ['POST', '/api/v1/tokens'], ['GET', '/api/v1/auth/stream-token']]) {
      expect(corsRoute(method!, path!), `${method} ${path}`).toBeUndefined()
    }
  })

  it('allows listed origins (as browsers send them) or any with *, never credentials', () => {
    expect(originAllowed(['http://127.0.0.1:8080'], 'http://127.0.0.1:8080')).toBe(true)
    expect(originAllowed(['http://127.0.0.1:8080'], 'http://127.0.0.1:8081')).toBe(false)
    expect(originAllowed([], 'http://127.0.0.1:8080')).toBe(false)
    expect(originAllowed('*', 'https://any.example')).toBe(true)
    const headers = preflightHeaders('stream-token', 'https://dash.example')
    expect(headers).toMatchObject({ 'access-control-allow-origin': 'https://dash.example', 'access-control-allow-methods': 'POST', 'vary': 'Origin' })
    expect(headers['access-control-allow-headers']).toContain('Authorization')
    expect(Object.keys(headers)).not.toContain('access-control-allow-credentials')
  })
})

describe('request log messages', () => {
  it('keep the answer\'s message, without a malformed body\'s quote, at most 500 characters', () => {
    expect(loggedMessage('Invalid agent token')).toBe('Invalid agent token')
    expect(loggedMessage('Malformed JSON: Unexpected token \'s\', "secret-body" is not valid JSON')).toBe('Malformed JSON')
    expect(loggedMessage('x'.repeat(2000))).toHaveLength(500)
  })
})
