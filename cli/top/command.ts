/**
 * `nodepulse top`: follows the unified node stream (seed 000) and shows it as a live table on a
 * terminal, as plain tables when stdout is not a terminal, or as JSON lines with --json.
 */
import { defineCommand } from 'citty'
import { NODE_STATES, NODE_STATUSES, type NodeLiveState, type NodeStats, type NodeStatsSnapshot } from '../../shared/contracts/seed000'
import { unknownFlags } from '../flags'
import { AGENT_VERSION } from '../version'
import { openScreen, type Screen } from './screen'
import { resolveTopSettings, TopSettingsError, type TopFlags } from './settings'
import type { SseMessage } from './sse'
import { followStream, type StreamState } from './stream'
import { renderView, SORT_BY_KEY, SORT_KEYS, type Sort } from './table'

/** Exit codes (cli/README.md). */
export const TOP_EXIT = { ok: 0, failed: 1, refused: 2 } as const

const ARGS = {
  'server': { type: 'string', description: 'The NodePulse server URL (env NODEPULSE_SERVER)' },
  'token': { type: 'string', description: 'An API token; shows in `ps`: prefer env NODEPULSE_TOKEN or --token-file' },
  'token-file': { type: 'string', description: 'Read the API token from this file (env NODEPULSE_TOKEN_FILE)' },
  'interval': { type: 'string', description: 'Seconds between updates, 1–60, default 5' },
  'sort': { type: 'string', description: `Sort by ${SORT_KEYS.join(', ')} (default status: offline and stale first)` },
  'json': { type: 'boolean', description: 'Print each stream message as one JSON line' },
} as const


const STATUSES = new Set<string>(NODE_STATUSES)
const STATES = new Set<string>(NODE_STATES)
type Entry = Omit<NodeStats, 'state'> & { state?: unknown }
const isNode = (n: unknown): n is Entry => typeof n === 'object' && n !== null && 'id' in n && typeof n.id === 'number'
  && 'hostname' in n && typeof n.hostname === 'string' && 'status' in n && typeof n.status === 'string' && STATUSES.has(n.status)
// A server from before `state` sends only the seed's status: its nodes read as that.
const isState = (v: unknown): v is NodeLiveState => typeof v === 'string' && STATES.has(v)
const withState = (n: Entry): NodeStats => ({ ...n, state: isState(n.state) ? n.state : n.status })
/** A snapshot message, its node entries checked enough to draw (a hostile server cannot crash the table). */
function asSnapshot(v: unknown): NodeStatsSnapshot | null {
  if (typeof v !== 'object' || v === null || !('nodes' in v) || !Array.isArray(v.nodes) || !('timestamp' in v) || typeof v.timestamp !== 'string') return null
  return { timestamp: v.timestamp, nodes: v.nodes.filter(isNode).map(withState) }
}

export interface TopIo {
  stdout: NodeJS.WriteStream & { fd: number }
  stderr: NodeJS.WritableStream
  stdin: NodeJS.ReadStream
}

/** Runs top as the flags and environment say; resolves to the process's exit code. */
export async function runTopCommand(flags: TopFlags, rawArgs: string[], env: NodeJS.ProcessEnv = process.env, io: TopIo = process): Promise<number> {
  const warn = (message: string) => io.stderr.write(`nodepulse top: ${message}\n`)
  const unknown = unknownFlags(ARGS, rawArgs)
  if (unknown.length) {
    warn(`unknown option ${unknown.map(u => `--${u}`).join(', ')}; see nodepulse top --help`)
    return TOP_EXIT.failed
  }
  let settings
  try {
    settings = resolveTopSettings(flags, env)
  }
  catch (error) {
    if (!(error instanceof TopSettingsError)) throw error
    warn(error.message)
    return TOP_EXIT.failed
  }
  for (const w of settings.warnings) warn(`warning: ${w}`)

  const mode = settings.json ? 'json' : io.stdout.isTTY ? 'live' : 'plain'
  const colour = mode === 'live' && !env.NO_COLOR && env.TERM !== 'dumb'
  const plainWidth = Number(env.COLUMNS) >= 20 ? Number(env.COLUMNS) : 80
  const stop = new AbortController()
  const onSignal = () => stop.abort()
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
  for (const s of signals) process.on(s, onSignal)
  // `nodepulse top | head` closes the pipe: that is an ordinary end.
  const onOutError = (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' ? stop.abort() : warn(`cannot write: ${error.message}`))
  io.stdout.on('error', onOutError)

  let snapshot: NodeStatsSnapshot | null = null
  let status: string | undefined = 'connecting…'
  let sort: Sort = { key: settings.sort, reverse: false }
  let screen: Screen | undefined
  const draw = () => {
    if (!screen) return
    const { width, height } = screen.size()
    screen.draw(renderView(snapshot, { width, height, colour, sort, server: settings.server, status, keys: true }))
  }
  const onKey = (key: string) => {
    if (key === 'q' || key === '\u0003') return stop.abort()
    const by = SORT_BY_KEY[key.toLowerCase()]
    if (key === 'r') sort = { ...sort, reverse: !sort.reverse }
    // The key of the current sort again turns it round.
    else if (by) sort = { key: by, reverse: by === sort.key ? !sort.reverse : false }
    else return
    draw()
  }
  const crash = (error: unknown) => {
    screen?.close()
    warn(`crashed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`)
    process.exit(TOP_EXIT.failed)
  }

  const onMessage = (m: SseMessage) => {
    let data: unknown
    try {
      data = JSON.parse(m.data)
    }
    catch {
      const line = `skipped a message that is not JSON (${m.data.slice(0, 60)})`
      // On the live screen a stderr line would scribble over the table.
      if (mode !== 'live') return warn(line)
      status = line
      return draw()
    }
    if (mode === 'json') return void io.stdout.write(`${JSON.stringify(data)}\n`)
    const next = asSnapshot(data)
    if (!next) return
    snapshot = next
    if (mode === 'live') return draw()
    io.stdout.write(`${renderView(snapshot, { width: plainWidth, colour: false, sort, server: settings.server }).join('\n')}\n\n`)
  }
  let retrying = false
  const onState = (s: StreamState) => {
    if (s.state === 'open') {
      if (retrying && mode !== 'live') warn(`connected to ${settings.server} again`)
      retrying = false
      status = undefined
    }
    else if (s.state === 'retrying') {
      retrying = true
      const line = `${s.reason}; retrying in ${Math.ceil(s.inMs / 1000)}s (attempt ${s.attempt})`
      status = `${snapshot ? 'not live: ' : ''}${line}`
      if (mode !== 'live') warn(line)
    }
    else if (s.attempt > 1) status = `${snapshot ? 'not live: ' : ''}connecting (attempt ${s.attempt})…`
    draw()
  }

  if (mode === 'live') {
    process.on('uncaughtException', crash)
    process.on('unhandledRejection', crash)
    screen = openScreen(io.stdout, io.stdin, onKey, draw)
    draw()
  }
  try {
    const url = new URL(`${settings.server}/api/v1/metrics/nodes/stats/stream`)
    url.searchParams.set('interval', String(settings.intervalSeconds))
    const end = await followStream({
      url,
      headers: { 'authorization': `Bearer ${settings.token}`, 'user-agent': `nodepulse-top/${AGENT_VERSION}` },
      signal: stop.signal,
      // Snapshots come every interval and heartbeats every 15 s: this much silence is a dead link.
      idleMs: Math.max(30, 3 * settings.intervalSeconds) * 1000,
      onMessage,
      onState,
    })
    screen?.close()
    if (end.kind === 'refused') {
      const agentToken = settings.token.startsWith('npa_') ? '; this is a node\'s agent token (npa_…), which only sends reports' : ''
      warn(end.status === 401
        ? `the server refused the token (401 ${end.message}): use an API token from the Tokens page (viewer is enough)${agentToken}`
        : `the token may not read the node stream (403 ${end.message})`)
      return TOP_EXIT.refused
    }
    return TOP_EXIT.ok
  }
  finally {
    screen?.close()
    for (const s of signals) process.off(s, onSignal)
    process.off('uncaughtException', crash)
    process.off('unhandledRejection', crash)
    io.stdout.off('error', onOutError)
  }
}

export default defineCommand({
  meta: { name: 'top', description: 'A live table of the cluster\'s nodes from a NodePulse server; plain tables when piped, JSON lines with --json' },
  args: ARGS,
  async run({ args, rawArgs }) {
    process.exitCode = await runTopCommand(args, rawArgs)
  },
})
