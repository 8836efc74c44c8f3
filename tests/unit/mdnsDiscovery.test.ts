import { describe, expect, it } from 'vitest'
import { memberNameFrom, memberUrlFrom } from '../../server/services/federation/discovery'

describe('members from mDNS announcements', () => {
  it('makes a valid member name of any announced name', () => {
    expect(memberNameFrom('site-a')).toBe('site-a')
    expect(memberNameFrom('Kitchen Pi (2)')).toBe('Kitchen-Pi-2')
    expect(memberNameFrom('!!!')).toBe('member')
    expect(memberNameFrom('x'.repeat(100))).toHaveLength(64)
  })

  it('takes the announced url, else the IPv4 address and port, keeping the api path\'s prefix', () => {
    const referer = { address: '10.0.0.9', family: 'IPv4' as const, port: 5353, size: 1 }
    expect(memberUrlFrom({ port: 3000, addresses: ['fe80::1', '10.0.0.5'], referer, txt: {} })).toBe('http://10.0.0.5:3000')
    expect(memberUrlFrom({ port: 3000, addresses: [], referer, txt: { api: '/np/api' } })).toBe('http://10.0.0.9:3000/np')
    expect(memberUrlFrom({ port: 3000, addresses: [], referer, txt: { url: 'https://np.example.com/' } })).toBe('https://np.example.com')
    expect(memberUrlFrom({ port: 3000, addresses: [], referer, txt: { url: 'ftp://x' } })).toBe('http://10.0.0.9:3000')
    expect(memberUrlFrom({ port: 3000, addresses: ['fe80::1'], referer: undefined, txt: {} })).toBeNull()
  })
})
