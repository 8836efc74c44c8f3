import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../server/services/config'
import { parseValkeyConfig } from '../../server/services/valkey/config'

const FILE = 'nodepulse.yaml'
const CA = new URL('./fixtures/valkey/nodes-ok.txt', import.meta.url).pathname

describe('the valkey: list of NODEPULSE_CONFIG', () => {
  it('reads each cluster with its name, seeds as a comma list or a YAML list, credentials and TLS', () => {
    const text = [
      'valkey:',
      '  - name: sessions',
      '    url: redis://app:s%40cret@10.0.1.100:6379, 10.0.1.101:6379',
      '  - name: cache-eu',
      '    url:',
      '      - rediss://cache-a:7000',
      '      - "[::1]:7001"',
      '    username: ops          # wins over the URL\'s',
      '    password: "1234"',
      `    tls_ca: ${CA}`,
      '  - name: standalone',
      '    url: 10.0.2.5',
      '    use_cluster: false',
      '    tls_insecure: true',
      'cluster: { enabled: false }   # other sections are left to their readers',
    ].join('\n')
    const clusters = parseValkeyConfig(text, FILE)
    expect(clusters.map(c => c.name)).toEqual(['sessions', 'cache-eu', 'standalone'])
    expect(clusters[0]).toEqual({
      name: 'sessions', seeds: [{ host: '10.0.1.100', port: 6379 }, { host: '10.0.1.101', port: 6379 }],
      useCluster: true, username: 'app', password: 's@cret', tls: null,
    })
    expect(clusters[1]).toMatchObject({
      seeds: [{ host: 'cache-a', port: 7000 }, { host: '::1', port: 7001 }], username: 'ops', password: '1234',
      tls: { ca: expect.stringContaining('127.0.0.1:27110'), rejectUnauthorized: true },
    })
    expect(clusters[2]).toMatchObject({ seeds: [{ host: '10.0.2.5', port: 6379 }], useCluster: false, tls: { ca: undefined, rejectUnauthorized: false } })
  })

  it('reads nothing from a file without the list', () => {
    expect(parseValkeyConfig('', FILE)).toEqual([])
    expect(parseValkeyConfig('cluster: {}\n', FILE)).toEqual([])
  })

  it('names the line and the field of a bad value', () => {
    const bad = (text: string, taken: string[] = []) => () => parseValkeyConfig(text, FILE, taken)
    expect(bad('valkey:\n  name: a\n')).toThrow('nodepulse.yaml line 2, valkey: must be a list of clusters, each {name, url, …}')
    expect(bad('valkey:\n  - name: a\n')).toThrow('nodepulse.yaml line 2, valkey[0].url: must be seed addresses')
    expect(bad('valkey:\n  - url: a:1\n')).toThrow('line 2, valkey[0].name: must be the cluster\'s name')
    expect(bad('valkey:\n  - name: a b\n    url: a:1\n')).toThrow('line 2, valkey[0].name: may hold only letters')
    expect(bad('valkey:\n  - name: a\n    url: "a:1, http://b:2"\n')).toThrow('line 3, valkey[0].url: has an invalid address "http://b:2"')
    expect(bad('valkey:\n  - name: a\n    url:\n      - a:1\n      - redis://u:pw@b:99999\n')).toThrow('line 5, valkey[0].url[1]: has an invalid address "redis://…@b:99999"')
    expect(bad('valkey:\n  - name: a\n    url: " , "\n')).toThrow('line 3, valkey[0].url: must list at least one seed address')
    expect(bad('valkey:\n  - name: a\n    url: a:1\n    password: 1234\n')).toThrow('line 4, valkey[0].password: must be a password (quote it')
    expect(bad('valkey:\n  - name: a\n    url: a:1\n    use_cluster: yes please\n')).toThrow('line 4, valkey[0].use_cluster: must be true or false')
    expect(bad('valkey:\n  - name: a\n    url: a:1\n    tls_ca: /nonexistent/ca.pem\n')).toThrow('line 4, valkey[0].tls_ca: /nonexistent/ca.pem cannot be read: ENOENT')
    expect(bad('valkey:\n  - name: a\n    url: a:1\n    pasword: x\n')).toThrow('line 4, valkey[0].pasword: is not a setting of this section (a typo?)')
  })

  it('refuses a name listed twice, or the one VALKEY_URL\'s cluster has', () => {
    const two = 'valkey:\n  - {name: a, url: "a:1"}\n  - {name: a, url: "b:1"}\n'
    expect(() => parseValkeyConfig(two, FILE)).toThrow('line 3, valkey[1].name: "a" is listed twice')
    expect(() => parseValkeyConfig('valkey:\n  - {name: valkey, url: "a:1"}\n', FILE, ['valkey'])).toThrow('line 2, valkey[0].name: "valkey" is the name of the cluster VALKEY_URL gives; choose another')
  })

  it('adds the file\'s clusters after VALKEY_URL\'s, which is named "valkey"', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nodepulse-config-'))
    const path = join(dir, 'nodepulse.yaml')
    writeFileSync(path, 'valkey:\n  - name: cache\n    url: c:7000\n')
    expect(loadConfig({ NODEPULSE_CONFIG: path }).valkey.map(c => c.name)).toEqual(['cache'])
    expect(loadConfig({ NODEPULSE_CONFIG: path, VALKEY_URL: 'a:1' }).valkey.map(c => [c.name, c.seeds[0]!.host])).toEqual([['valkey', 'a'], ['cache', 'c']])
    writeFileSync(path, 'valkey:\n  - name: valkey\n    url: c:7000\n')
    expect(loadConfig({ NODEPULSE_CONFIG: path }).valkey.map(c => c.name)).toEqual(['valkey'])
    expect(() => loadConfig({ NODEPULSE_CONFIG: path, VALKEY_URL: 'a:1' })).toThrow(`NODEPULSE_CONFIG ${path} line 2, valkey[0].name: "valkey" is the name of the cluster VALKEY_URL gives`)
  })
})
