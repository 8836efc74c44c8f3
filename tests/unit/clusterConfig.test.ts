import { describe, expect, it } from 'vitest'
import { NO_CLUSTER, parseClusterConfig } from '../../server/services/federation/config'

const FILE = 'nodepulse.yaml'

describe('the cluster block of NODEPULSE_CONFIG', () => {
  it('reads the seed\'s block as written, with a token per member', () => {
    const text = [
      'cluster:',
      '  enabled: true              # Enable cluster mode',
      '  aggregation_interval: 30',
      '  request_timeout: 2.5',
      '  discovery_method: manual',
      '  manual_nodes:',
      '    - name: pi-kitchen',
      '      url: http://192.168.1.10:8080/',
      '      token: npt_abc',
      'logging: { level: debug }   # other sections are left alone',
    ].join('\n')
    expect(parseClusterConfig(text, FILE)).toEqual({
      enabled: true, intervalSeconds: 30, timeoutSeconds: 2.5, discovery: 'manual',
      members: [{ name: 'pi-kitchen', url: 'http://192.168.1.10:8080', token: 'npt_abc' }], mdns: NO_CLUSTER.mdns,
    })
  })

  it('takes the seed\'s defaults, and no block means nothing configured', () => {
    expect(parseClusterConfig('cluster: {}', FILE)).toEqual({ enabled: true, intervalSeconds: 60, timeoutSeconds: 5, discovery: 'manual', members: [], mdns: NO_CLUSTER.mdns })
    expect(parseClusterConfig('', FILE)).toEqual(NO_CLUSTER)
  })

  it('names the line and the field of a bad value', () => {
    const bad = (text: string) => () => parseClusterConfig(text, FILE)
    expect(bad('cluster:\n  enabled: true\n  request_timeout: soon\n')).toThrow('nodepulse.yaml line 3, cluster.request_timeout: must be a number of seconds')
    expect(bad('cluster:\n  manual_nodes:\n    - name: a\n      url: ftp://x\n      token: t\n')).toThrow('line 4, cluster.manual_nodes[0].url: must be an http:// or https:// URL')
    expect(bad('cluster:\n  manual_nodes:\n    - name: a\n      url: http://x\n')).toThrow('line 3, cluster.manual_nodes[0].token')
    expect(bad('cluster:\n  discovery_method: dns\n')).toThrow('line 2, cluster.discovery_method: must be "manual" or "mdns"')
    expect(bad('cluster:\n  agregation_interval: 5\n')).toThrow('line 2, cluster.agregation_interval: is not a setting of this section')
    expect(bad('cluster:\n  manual_nodes:\n    - {name: a, url: "http://x", token: t}\n    - {name: a, url: "http://y", token: t}\n')).toThrow('line 4, cluster.manual_nodes[1].name: "a" is listed twice')
  })

  it('reads the mdns block: announce, name, interface and the tokens of discovered members', () => {
    const text = [
      'cluster:',
      '  discovery_method: mdns',
      '  mdns:',
      '    announce: true',
      '    name: site-a',
      '    interface: 127.0.0.1',
      '    token: npt_default',
      '    tokens: { site-b: npt_b }',
    ].join('\n')
    expect(parseClusterConfig(text, FILE)).toMatchObject({
      discovery: 'mdns', mdns: { announce: true, name: 'site-a', interface: '127.0.0.1', token: 'npt_default', tokens: { 'site-b': 'npt_b' } },
    })
    // Without a block nothing is announced; the name defaults to the host's.
    expect(NO_CLUSTER.mdns).toMatchObject({ announce: false, tokens: {} })
    expect(NO_CLUSTER.mdns.name).toMatch(/^[\w.-]+$/)
    const bad = (body: string) => () => parseClusterConfig(`cluster:\n  mdns:\n${body}`, FILE)
    expect(bad('    interface: eth0\n')).toThrow('line 3, cluster.mdns.interface: must be the IPv4 address of the interface to use')
    expect(bad('    announce: yes please\n')).toThrow('line 3, cluster.mdns.announce: must be true or false')
    expect(bad('    tokens: { site-b: 5 }\n')).toThrow('cluster.mdns.tokens.site-b: must be a viewer API token')
    expect(bad('    port: 5353\n')).toThrow('cluster.mdns.port: is not a setting of this section')
  })

  it('names the line of a syntax error', () => {
    expect(() => parseClusterConfig('cluster:\n  enabled: true\n   request_timeout: [1,\n', FILE)).toThrow(/nodepulse\.yaml line \d, column \d+:/)
  })
})
