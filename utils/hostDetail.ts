import type { HostDetail } from '../shared/contracts/ingest'

// Every field of the host detail; typed as a Record so a field added to the contract must be listed.
const HOST_FIELDS: Record<keyof HostDetail, true> = {
  load: true, cpu_cores: true, memory: true, disk: true, disks: true, disk_io: true,
  network: true, temperatures: true, processes: true, os: true,
}

/** Whether a node's detail holds anything of its host beyond the summary (an agent sending only the summary has none). */
export function hasHostDetail(detail: HostDetail): boolean {
  return Object.entries(detail).some(([key, value]) => key in HOST_FIELDS && value !== null && value !== undefined)
}

/** The operating system in words: "Debian GNU/Linux 12", "macOS 14.2", or the bare platform ("linux"). */
export function osName(os: NonNullable<HostDetail['os']>): string {
  return [os.distro, os.release].filter(Boolean).join(' ') || os.platform
}

/** How hot a sensor reads: the same 75/90 steps as the percent meters. */
export function temperatureLevel(celsius: number): 'normal' | 'warm' | 'hot' {
  if (celsius >= 90) return 'hot'
  if (celsius >= 75) return 'warm'
  return 'normal'
}
