/**
 * Where each history metric comes from in a raw sample (`node_samples` as `s`), and the SQL
 * fragments the rollups and queries build from that list. Metric names are the contract's
 * fixed list, so they are safe to place in SQL as identifiers.
 */
import { sql, type SQL } from 'drizzle-orm'
import { HISTORY_METRICS, type HistoryMetric } from '../../../shared/contracts/history'

const detail = (path: string) => `(s.detail${path})::float8`
const sumOver = (list: string, field: string, fn = 'sum') => `(select ${fn}((e->>'${field}')::float8) from jsonb_array_elements(s.detail->'${list}') e)`

/** Each metric's value in one raw row, as a float8 SQL expression (null when the sample lacks it). */
export const RAW_EXPRESSIONS: Record<HistoryMetric, string> = {
  cpu_percent: 's.cpu_percent',
  memory_percent: 's.memory_percent',
  disk_percent: 's.disk_percent',
  load1: detail(`->'load'->>'1m'`),
  load5: detail(`->'load'->>'5m'`),
  load15: detail(`->'load'->>'15m'`),
  memory_used_bytes: detail(`->'memory'->>'used_bytes'`),
  swap_used_bytes: detail(`->'memory'->>'swap_used_bytes'`),
  net_rx_bytes_per_sec: sumOver('network', 'rx_bytes_per_sec'),
  net_tx_bytes_per_sec: sumOver('network', 'tx_bytes_per_sec'),
  disk_read_bytes_per_sec: detail(`->'disk_io'->>'read_bytes_per_sec'`),
  disk_write_bytes_per_sec: detail(`->'disk_io'->>'write_bytes_per_sec'`),
  temperature_celsius: sumOver('temperatures', 'celsius', 'max'),
  processes: detail(`->>'processes'`),
  active_backups: 's.active_backups::float8',
}

/** The rollup columns of a metric, in table order. */
export const rollupColumns = (m: HistoryMetric) => [`${m}_avg`, `${m}_min`, `${m}_max`, `${m}_last`, `${m}_n`]

/** Every rollup column after `samples`, comma-separated. */
export const ALL_ROLLUP_COLUMNS = HISTORY_METRICS.flatMap(rollupColumns).join(', ')

/** `col = excluded.col` for every rollup column: the upsert replaces a bucket's figures whole. */
export const UPSERT_SET = ['samples', ...HISTORY_METRICS.flatMap(rollupColumns)].map(c => `${c} = excluded.${c}`).join(', ')

/** Raw SQL text (identifiers and expressions from the lists above, never user input). */
export const raw = (text: string): SQL => sql.raw(text)
