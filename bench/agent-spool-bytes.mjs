#!/usr/bin/env node
/**
 * Spool write bench (issue 9 leftovers): what the Node agent's spool writes to disk over a long
 * outage. The spool of a git revision (--before, default the last one with the rewrite-per-sample
 * format) and the working tree's are each bundled with esbuild and fed the same N samples (one
 * real sample of this host, with its detail, at rising timestamps) into an empty directory, as an
 * agent whose server is away would. Prints, per spool: bytes handed to write() (/proc/self/io
 * wchar), bytes the block layer wrote (write_bytes; 0 on tmpfs), fsync-class calls (counted by
 * wrapping the FileHandle), files left and wall time.
 *
 *   node bench/agent-spool-bytes.mjs [--samples 10000] [--before 3dbd091] [--dir /var/tmp]
 *
 * --dir: where the spools are made (default os.tmpdir(); give a disk-backed one for write_bytes).
 */
import { execSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'

const { values: args } = parseArgs({
  options: {
    samples: { type: 'string', default: '10000' },
    before: { type: 'string', default: '3dbd091' },
    dir: { type: 'string', default: tmpdir() },
  },
})
const N = Number(args.samples)
const root = new URL('..', import.meta.url).pathname
const work = mkdtempSync(join(tmpdir(), 'np-spool-bench-'))

async function bundle(srcRoot, name) {
  const outfile = join(work, `${name}.mjs`)
  await build({ entryPoints: [join(srcRoot, 'cli/agent/spool.ts')], outfile, bundle: true, platform: 'node', format: 'esm', logLevel: 'warning' })
  return import(pathToFileURL(outfile).href)
}

function io() {
  const text = readFileSync('/proc/self/io', 'utf8')
  const get = key => Number(new RegExp(`^${key}: (\\d+)$`, 'm').exec(text)[1])
  return { wchar: get('wchar'), writeBytes: get('write_bytes') }
}

// One real sample of this host (the sampler the agent uses), its timestamp rising 1 s per sample.
const samplerFile = join(work, 'sampler.mjs')
await build({ entryPoints: [join(root, 'shared/sampler.ts')], outfile: samplerFile, bundle: true, platform: 'node', format: 'esm', logLevel: 'warning', external: ['systeminformation'] })
const { createHostSampler } = await import(pathToFileURL(samplerFile).href)
const real = await createHostSampler().sample()
const t0 = Date.now() - N * 1000
const sampleAt = i => JSON.stringify({ ...real, timestamp: new Date(t0 + i * 1000).toISOString() })

const beforeSrc = join(work, 'before-src')
mkdirSync(beforeSrc)
execSync(`git -C ${root} archive ${args.before} cli/agent shared/contracts/limits.ts | tar -x -C ${beforeSrc}`)
const spools = [
  [`before (${args.before}: one batch file rewritten per sample)`, await bundle(beforeSrc, 'before')],
  ['after (working tree: append-only segments)', await bundle(root, 'after')],
]

const log = { info() {}, warn() {} }
console.log(`${N} samples of ${Buffer.byteLength(sampleAt(0))} bytes (${(N * Buffer.byteLength(sampleAt(0)) / 1e6).toFixed(1)} MB of samples), spools under ${args.dir}, Node ${process.version}`)
console.log('| spool | bytes to write() | block-layer writes | fsyncs | files | time |')
console.log('|---|---|---|---|---|---|')
for (const [name, mod] of spools) {
  const dir = mkdtempSync(join(args.dir, 'np-spool-'))
  // Count syncs through the FileHandle prototype (both spools sync through FileHandle.sync).
  const fsp = await import('node:fs/promises')
  const handle = await fsp.open(join(dir, 'probe'), 'w')
  const proto = Object.getPrototypeOf(handle)
  await handle.close()
  rmSync(join(dir, 'probe'))
  const sync = proto.sync
  let syncs = 0
  proto.sync = function (...a) {
    syncs++
    return sync.apply(this, a)
  }
  const spool = await mod.openSpool(dir, N + 1, log)
  const start = io()
  const started = performance.now()
  for (let i = 0; i < N; i++) await spool.add(sampleAt(i))
  await spool.close()
  const ms = performance.now() - started
  const end = io()
  proto.sync = sync
  const files = readdirSync(dir).filter(f => /^\d+\.jsonl?$/.test(f)).length
  console.log(`| ${name} | ${(end.wchar - start.wchar).toLocaleString('en')} | ${(end.writeBytes - start.writeBytes).toLocaleString('en')} | ${syncs.toLocaleString('en')} | ${files} | ${(ms / 1000).toFixed(1)} s |`)
  rmSync(dir, { recursive: true, force: true })
}
rmSync(work, { recursive: true, force: true })
