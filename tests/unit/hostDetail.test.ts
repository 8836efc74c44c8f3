import { describe, expect, it } from 'vitest'
import type { NodeDetail } from '../../shared/contracts/seed000'
import { hasHostDetail, osName, temperatureLevel } from '../../utils/hostDetail'
import { formatCelsius } from '../../utils/units'

describe('hasHostDetail', () => {
  it('is false for a detail with only the registry facts (an agent that sends the summary only)', () => {
    expect(hasHostDetail({})).toBe(false)
    const registryOnly: NodeDetail = { kind: 'agent', labels: { a: 'b' }, created_at: '2026-01-01T00:00:00Z', last_sample_at: null, reported: null }
    expect(hasHostDetail(registryOnly)).toBe(false)
    expect(hasHostDetail({ disk: null, disk_io: null })).toBe(false)
  })

  it('is true once any host field is there, even an empty list', () => {
    expect(hasHostDetail({ processes: 0 })).toBe(true)
    expect(hasHostDetail({ temperatures: [] })).toBe(true)
    expect(hasHostDetail({ os: { platform: 'linux', arch: 'x64' } })).toBe(true)
  })
})

describe('osName', () => {
  it('names the distribution and release, else the platform', () => {
    expect(osName({ platform: 'linux', distro: 'Debian GNU/Linux', release: '12', arch: 'x64' })).toBe('Debian GNU/Linux 12')
    expect(osName({ platform: 'darwin', distro: 'macOS', arch: 'arm64' })).toBe('macOS')
    expect(osName({ platform: 'linux', distro: '', release: '', arch: 'x64' })).toBe('linux')
  })
})

describe('temperatures', () => {
  it('steps at 75 and 90 °C', () => {
    expect([20, 74.9, 75, 89.9, 90, 110].map(temperatureLevel)).toEqual(['normal', 'normal', 'warm', 'warm', 'hot', 'hot'])
  })

  it('formats one decimal, or a dash', () => {
    expect(formatCelsius(47)).toMatch(/^47[.,]0 °C$/)
    expect(formatCelsius(-3.25)).toMatch(/^-3[.,][23] °C$/)
    expect(formatCelsius(null)).toBe('—')
  })
})
