import { describe, expect, it } from 'vitest'
import type { AlertNodes, AlertRuleView } from '../../shared/contracts/alerts'
import { createAlertRuleBody } from '../../shared/contracts/alerts'
import { HISTORY_METRICS } from '../../shared/contracts/history'
import {
  ALERT_PRESETS, changedFields, describeNodes, describeRule, draftOf, emptyDraft, formatDuration, formatMetricValue, METRIC_OPTIONS, nodesOf, selectionOf,
} from '../../utils/alertRules'

const hostnames = new Map([[1, 'web-01'], [2, 'web-02']])

function rule(fields: Partial<AlertRuleView> = {}): AlertRuleView {
  return {
    id: 7, name: 'High CPU', metric: 'cpu_percent', comparison: '>', value: 90, per_core: false, duration_seconds: 300, nodes: 'all',
    severity: 'warning', enabled: true, created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z', firing: [], ...fields,
  }
}

describe('describeRule', () => {
  it('reads a rule as the issue writes it', () => {
    expect(describeRule(rule({ nodes: { labels: { cluster: 'prod' } } }), hostnames)).toBe('cpu_percent > 90 for 5 min on nodes labelled cluster=prod')
    expect(describeRule(rule({ metric: 'load1', value: 1, per_core: true, duration_seconds: 600 }), hostnames)).toBe('load1 > 1 × cores for 10 min on all nodes')
    expect(describeRule(rule({ metric: 'disk_percent', comparison: '>=', value: 85, duration_seconds: 3600 }), hostnames)).toBe('disk_percent >= 85 for 1 h on all nodes')
  })

  it('names chosen nodes by hostname, and a node it does not know by id', () => {
    expect(describeNodes({ ids: [1, 2, 9] }, hostnames)).toBe('on web-01, web-02, node #9')
    expect(describeNodes({ labels: { cluster: 'prod', role: 'db' } }, hostnames)).toBe('on nodes labelled cluster=prod, role=db')
    // The form's preview before any node or label is given.
    expect(describeNodes({ ids: [] }, hostnames)).toBe('on no nodes yet')
    expect(describeNodes({ labels: {} }, hostnames)).toBe('on no nodes yet')
  })

  it('adds the readable size of a byte threshold, not of a per-core one', () => {
    expect(describeRule(rule({ metric: 'net_rx_bytes_per_sec', value: 104_857_600, duration_seconds: 120 }), hostnames)).toBe('net_rx_bytes_per_sec > 104857600 (100 MiB/s) for 2 min on all nodes')
    expect(describeRule(rule({ metric: 'memory_used_bytes', comparison: '<', value: 2048 }), hostnames)).toBe('memory_used_bytes < 2048 (2 KiB) for 5 min on all nodes')
  })
})

describe('formatting', () => {
  it('formats values in their metric\'s unit', () => {
    expect(formatMetricValue('cpu_percent', 97.456)).toBe('97.46 %')
    expect(formatMetricValue('load1', 3.08)).toBe('3.08')
    expect(formatMetricValue('swap_used_bytes', 1536 * 1024 * 1024)).toBe('1.5 GiB')
    expect(formatMetricValue('disk_write_bytes_per_sec', 1_258_291)).toBe('1.2 MiB/s')
    expect(formatMetricValue('temperature_celsius', 71)).toBe('71 °C')
    expect(formatMetricValue('cpu_percent', null)).toBe('—')
  })

  it('says durations as the server\'s events do', () => {
    expect(formatDuration(60)).toBe('1 min')
    expect(formatDuration(5400)).toBe('90 min')
    expect(formatDuration(7200)).toBe('2 h')
  })

  it('offers every metric the API takes, with its unit', () => {
    expect(METRIC_OPTIONS.map(o => o.metric)).toEqual([...HISTORY_METRICS])
    expect(METRIC_OPTIONS.find(o => o.metric === 'cpu_percent')!.label).toBe('CPU usage (%)')
    expect(METRIC_OPTIONS.find(o => o.metric === 'net_tx_bytes_per_sec')!.label).toBe('Network sent (bytes/s)')
    expect(METRIC_OPTIONS.find(o => o.metric === 'load5')!.label).toBe('Load average, 5 min')
  })
})

describe('the form\'s rule', () => {
  it('starts from a draft and presets the API accepts', () => {
    expect(createAlertRuleBody.safeParse({ ...emptyDraft(), name: 'x' }).success).toBe(true)
    for (const preset of ALERT_PRESETS) expect(createAlertRuleBody.safeParse({ ...emptyDraft(), ...preset.fields, name: preset.name }).success, preset.id).toBe(true)
    expect(ALERT_PRESETS.map(p => describeRule({ ...p.fields, nodes: 'all' }, hostnames))).toEqual([
      'cpu_percent > 90 for 5 min on all nodes', 'disk_percent > 85 for 1 min on all nodes', 'load1 > 1 × cores for 10 min on all nodes',
    ])
  })

  it('turns the node selector into the rule\'s nodes and back', () => {
    expect(nodesOf({ mode: 'all', ids: [2], labels: 'a=b' })).toEqual({ nodes: 'all' })
    expect(nodesOf({ mode: 'ids', ids: [2, 1], labels: '' })).toEqual({ nodes: { ids: [1, 2] } })
    expect(nodesOf({ mode: 'labels', ids: [], labels: 'cluster=prod, role = db' })).toEqual({ nodes: { labels: { cluster: 'prod', role: 'db' } } })
    expect(nodesOf({ mode: 'labels', ids: [], labels: 'cluster' })).toEqual({ error: 'Label "cluster" must be written as key=value' })
    // Nothing chosen is left to the server, which names the field.
    expect(nodesOf({ mode: 'ids', ids: [], labels: '' })).toEqual({ nodes: { ids: [] } })
    const kinds: AlertNodes[] = ['all', { ids: [3, 4] }, { labels: { cluster: 'prod', role: 'db' } }]
    for (const nodes of kinds) expect(nodesOf(selectionOf(nodes))).toEqual({ nodes })
  })

  it('sends only what an edit changed, so a new name or severity keeps the firing state', () => {
    const before = rule({ nodes: { labels: { cluster: 'prod', role: 'db' } } })
    expect(changedFields(before, draftOf(before))).toEqual({})
    expect(changedFields(before, { ...draftOf(before), name: 'Hot CPU', severity: 'error' })).toEqual({ name: 'Hot CPU', severity: 'error' })
    expect(changedFields(before, { ...draftOf(before), nodes: { labels: { role: 'db', cluster: 'prod' } } })).toEqual({})
    expect(changedFields(before, { ...draftOf(before), nodes: { labels: { cluster: 'prod' } } })).toEqual({ nodes: { labels: { cluster: 'prod' } } })
    expect(changedFields(rule({ nodes: { ids: [2, 1] } }), { ...draftOf(rule()), nodes: { ids: [1, 2] } })).toEqual({})
    expect(changedFields(before, { ...draftOf(before), value: 95, duration_seconds: 600, enabled: false })).toEqual({ value: 95, duration_seconds: 600, enabled: false })
  })
})
