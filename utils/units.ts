const UNITS: [seconds: number, one: string, many: string][] = [
  [86_400, 'day', 'days'], [3600, 'hour', 'hours'], [60, 'minute', 'minutes'], [1, 'second', 'seconds'],
]

/** Uptime in words, its two largest units: "3 days, 4 hours", "12 minutes", or a dash when unknown. */
export function formatUptime(seconds: number | null): string {
  if (seconds === null) return '—'
  let rest = Math.max(0, Math.floor(seconds))
  const parts: string[] = []
  for (const [size, one, many] of UNITS) {
    const count = Math.floor(rest / size)
    if (count > 0 || (size === 1 && parts.length === 0)) parts.push(`${count} ${count === 1 ? one : many}`)
    rest -= count * size
    if (parts.length === 2) break
    // "3 days, 0 hours" says less than "3 days": stop after an empty unit that follows a filled one.
    if (parts.length === 1 && count === 0) break
  }
  return parts.join(', ')
}

const byteFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 })
const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']

/** "1.5 GiB", or a dash when unknown. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—'
  let value = bytes
  let unit = 0
  while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return `${byteFormat.format(value)} ${BYTE_UNITS[unit]}`
}

/** "1.2 MiB/s", or a dash when unknown. */
export function formatRate(bytesPerSecond: number | null | undefined): string {
  return bytesPerSecond === null || bytesPerSecond === undefined ? '—' : `${formatBytes(bytesPerSecond)}/s`
}

/** A count, or a dash when the node did not report it. */
export function formatCount(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : String(value)
}

const celsiusFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 })

/** "47.5 °C", or a dash when unknown. */
export function formatCelsius(celsius: number | null | undefined): string {
  return celsius === null || celsius === undefined ? '—' : `${celsiusFormat.format(celsius)} °C`
}
