import { expect } from 'vitest'

/**
 * Parses Prometheus text exposition strictly enough to catch a malformed line (as metrics.test.ts
 * does). Like Prometheus (Go's strconv.ParseFloat) it takes NaN in any case: prom-client writes
 * "Nan" for an empty event-loop-lag histogram, e.g. on a second scrape within a few milliseconds.
 */
export function parseProm(text: string): Map<string, number> {
  const series = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue
    const m = /^([a-zA-Z_:][\w:]*)(\{(?:[a-zA-Z_]\w*="(?:[^"\\]|\\.)*",?)*\})? (-?[\d.e+-]+|[Nn][Aa][Nn]|[+-]Inf)$/.exec(line)
    expect(m, `not Prometheus text: ${line}`).not.toBeNull()
    series.set(`${m![1]}${m![2] ?? ''}`, Number(m![3]))
  }
  return series
}
