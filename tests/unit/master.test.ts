import { describe, expect, it } from 'vitest'
import { pickFilesystem } from '../../server/services/master'

const fs = (...mounts: string[]) => mounts.map(mount => ({ mount, use: mounts.indexOf(mount) }))

describe('pickFilesystem', () => {
  const mounts = fs('/', '/data', '/data2', '/data/archive', '/boot/')

  it('picks the longest mount point that holds the path', () => {
    expect(pickFilesystem(mounts, '/data/archive/2025/x.tar')?.mount).toBe('/data/archive')
    expect(pickFilesystem(mounts, '/data/other')?.mount).toBe('/data')
    expect(pickFilesystem(mounts, '/var/lib')?.mount).toBe('/')
  })

  it('matches a mount point itself', () => {
    expect(pickFilesystem(mounts, '/data')?.mount).toBe('/data')
    expect(pickFilesystem(mounts, '/')?.mount).toBe('/')
  })

  it('does not take a name prefix for a path prefix (/data2 is not under /data)', () => {
    expect(pickFilesystem(mounts, '/data2/x')?.mount).toBe('/data2')
    expect(pickFilesystem(fs('/', '/data'), '/database')?.mount).toBe('/')
  })

  it('handles mount points written with a trailing slash', () => {
    expect(pickFilesystem(mounts, '/boot/efi')?.mount).toBe('/boot/')
  })

  it('returns undefined when nothing holds the path', () => {
    expect(pickFilesystem([], '/')).toBeUndefined()
    expect(pickFilesystem(fs('/data'), '/srv')).toBeUndefined()
  })

  it('keeps the whole entry', () => {
    const entries = [{ mount: '/', fs: 'overlay', size: 10 }, { mount: '/srv', fs: 'ext4', size: 20 }]
    expect(pickFilesystem(entries, '/srv/x')).toBe(entries[1])
  })
})
