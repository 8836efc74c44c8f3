// The bodies the ingest benches send: a realistic sample, and 1,000 of them as a catch-up batch.

/** A realistic single sample of a 2-core VM, as shared/sampler.ts reads it (one filesystem, one interface). */
export function sample(ts, cpu) {
  return {
    cpu_percent: cpu, memory_percent: 41.3, disk_percent: 62.5, uptime_seconds: 812_345, active_backups: 0, timestamp: new Date(ts).toISOString(),
    detail: {
      load: { '1m': 0.42, '5m': 0.37, '15m': 0.31 }, cpu_cores: [cpu, 100 - cpu],
      memory: { total_bytes: 4_124_880_896, used_bytes: 1_703_575_552, available_bytes: 2_421_305_344, swap_total_bytes: 1_073_737_728, swap_used_bytes: 12_582_912 },
      disk: { mount: '/', fs: '/dev/vda1', size_bytes: 41_083_600_896, used_bytes: 25_677_250_560, percent: 62.5 },
      disks: [{ mount: '/', fs: '/dev/vda1', type: 'ext4', size_bytes: 41_083_600_896, used_bytes: 25_677_250_560, percent: 62.5 }],
      disk_io: { read_bytes_per_sec: 1228.8, write_bytes_per_sec: 48_332.8 },
      network: [{ iface: 'eth0', rx_bytes_per_sec: 2150.4, tx_bytes_per_sec: 1843.2, rx_bytes: 918_273_645, tx_bytes: 127_364_591 }],
      processes: 143,
      os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.1.0-28-amd64', arch: 'x64', hostname: 'vm-01' },
    },
  }
}

// A catch-up batch's samples as JSON after their timestamp, built once: the generator then only
// stamps them, so building a 0.9 MB body costs it far less than the server's parsing of it.
const BATCH_TAILS = Array.from({ length: 1000 }, (_, i) => {
  const rest = sample(0, (i * 7) % 100)
  delete rest.timestamp
  return JSON.stringify(rest).slice(1)
})

/** A 1,000-sample catch-up batch's body (0.9 MB), samples 10 ms apart from unix ms `from` on. */
export function batchBody(from) {
  return `{"samples":[${BATCH_TAILS.map((tail, i) => `{"timestamp":"${new Date(from + i * 10).toISOString()}",${tail}`).join(',')}]}`
}
