#!/usr/bin/env node
// The ingest batch statement alone, on PostgreSQL: how long one batch's write takes (wall time per
// statement, and the backend's CPU) when postgres.js sends it unnamed (described before every run,
// as drizzle's execute does: two round trips), as a named prepared statement (one round trip), and
// with its rows read by json_to_recordset or by jsonb_array_elements from positional arrays. Variants alternate round by round on one fresh
// database, so they share the machine's load. The statement is server/services/ingest.ts's (without
// the journal's writer registration, which is the same for every variant).
// Usage: node bench/ingest-statement.mjs --postgres postgres://postgres@127.0.0.1:5432/postgres [--rows 1,1000] [--rounds 30]
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { sample } from './ingest-body.mjs'
import { freshDatabase, percentile, procStats } from './lib.mjs'

const { values } = parseArgs({ options: { postgres: { type: 'string' }, rows: { type: 'string', default: '1,1000' }, rounds: { type: 'string', default: '30' } } })
if (!values.postgres) throw new Error('--postgres URL is needed')
const ROUNDS = Number(values.rounds)

/** The batch statement with `rows` as the samples' source (the rows' SQL, reading the JSON parameter $4). */
const statement = rows => `with alive as (
      update nodes set last_seen = greatest(nodes.last_seen, $1::timestamptz)
      from (select n.id from nodes n where n.id = any($2::int[]) order by n.id for no key update of n) locked
      where nodes.id = locked.id returning nodes.id
    ), ins as (
      insert into node_samples (node_id, ts, cpu_percent, memory_percent, disk_percent, uptime_seconds, active_backups, detail, received_at)
      select r.node_id, r.ts, r.cpu_percent, r.memory_percent, r.disk_percent, r.uptime_seconds, r.active_backups, r.detail, $3::timestamptz
      from (${rows}) r
      where r.node_id in (select id from alive)
      order by r.n
      on conflict (node_id, ts) do nothing
      returning id, node_id, ts
    )
    select id::float8 as id, node_id, (extract(epoch from ts) * 1000)::float8 as ts_ms from ins
    union all
    select null, id, null from alive`

const recordset = kind => `select *, ordinality as n from rows from (${kind}_to_recordset($4::${kind}) as (node_id int, ts timestamptz, cpu_percent float8,
  memory_percent float8, disk_percent float8, uptime_seconds bigint, active_backups int, detail jsonb)) with ordinality`
const asObject = (node, s) => ({ node_id: node, ts: s.timestamp, cpu_percent: s.cpu_percent, memory_percent: s.memory_percent, disk_percent: s.disk_percent, uptime_seconds: s.uptime_seconds, active_backups: s.active_backups, detail: s.detail })
const asArray = (node, s) => [node, s.timestamp, s.cpu_percent, s.memory_percent, s.disk_percent, s.uptime_seconds, s.active_backups, s.detail ?? null]

const VARIANTS = [
  { name: 'jsonb_to_recordset, unnamed (described every time: before)', rows: recordset('jsonb'), row: asObject, prepare: false },
  { name: 'jsonb_to_recordset, prepared (after)', rows: recordset('jsonb'), row: asObject, prepare: true },
  { name: 'json_to_recordset, prepared', rows: recordset('json'), row: asObject, prepare: true },
  {
    name: 'jsonb_array_elements of arrays, prepared', row: asArray, prepare: true,
    rows: `select (e->>0)::int as node_id, (e->>1)::timestamptz as ts, (e->>2)::float8 as cpu_percent, (e->>3)::float8 as memory_percent,
      (e->>4)::float8 as disk_percent, (e->>5)::bigint as uptime_seconds, (e->>6)::int as active_backups, nullif(e->7, 'null') as detail, n
      from jsonb_array_elements($4::jsonb) with ordinality as t(e, n)`,
  },
]

const database = await freshDatabase(values.postgres, 'np_bench_statement')
const sql = postgres(database.url, { max: 1, onnotice: () => {} })
// As drizzle's postgres.js driver sets them for the server's client: JSON parameters go as the text given.
sql.options.serializers['114'] = sql.options.serializers['3802'] = x => x
try {
  await sql.unsafe(`create sequence stream_position;
    create table nodes (id serial primary key, last_seen timestamptz);
    create table node_samples (id bigint primary key default nextval('stream_position'), node_id int not null references nodes(id) on delete cascade,
      ts timestamptz(3) not null, cpu_percent float8 not null, memory_percent float8, disk_percent float8, uptime_seconds bigint,
      active_backups int, detail jsonb, received_at timestamptz not null default now());
    create unique index node_samples_node_ts_key on node_samples (node_id, ts);
    create index node_samples_ts_idx on node_samples (ts);
    insert into nodes (last_seen) select null from generate_series(1, 10);`)
  const [{ pid }] = await sql`select pg_backend_pid() as pid`
  let ts = Date.UTC(2025, 0, 1)
  console.log(`ingest batch statement, ${ROUNDS} rounds per variant (alternating), one connection`)
  console.log('| rows per batch | variant | wall ms per statement p50 / p90 | backend CPU ms per statement | rows/s (serial) |')
  console.log('|---|---|---|---|---|')
  for (const rows of values.rows.split(',').map(Number)) {
    const results = VARIANTS.map(() => ({ wall: [], cpu: 0 }))
    for (let round = -3; round < ROUNDS; round++) {
      for (const [i, v] of VARIANTS.entries()) {
        const params = JSON.stringify(Array.from({ length: rows }, (_, k) => {
          return v.row((k % 10) + 1, sample(ts += 10, k % 100))
        }))
        const now = new Date().toISOString()
        const cpu = procStats(pid).cpuSeconds
        const started = performance.now()
        await sql.unsafe(statement(v.rows), [now, '{1,2,3,4,5,6,7,8,9,10}', now, params], { prepare: v.prepare })
        const wall = performance.now() - started
        if (round < 0) continue
        results[i].wall.push(wall)
        results[i].cpu += procStats(pid).cpuSeconds - cpu
      }
    }
    for (const [i, v] of VARIANTS.entries()) {
      const wall = results[i].wall.sort((a, b) => a - b)
      const mean = wall.reduce((a, b) => a + b, 0) / wall.length
      console.log(`| ${rows} | ${v.name} | ${percentile(wall, 50).toFixed(2)} / ${percentile(wall, 90).toFixed(2)} | ${((results[i].cpu / ROUNDS) * 1000).toFixed(1)} | ${Math.round(rows / (mean / 1000)).toLocaleString('en-US')} |`)
    }
  }
}
finally {
  await sql.end()
  await database.drop()
}
