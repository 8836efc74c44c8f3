/**
 * The agent's loop: every interval one sample, sent at once (or spooled when the server cannot
 * take it), then as much of the spool, oldest first, as fits in the rest of the interval. So a
 * live sample never waits behind a long backlog, and the backlog still drains.
 */
import { MAX_FUTURE_SKEW_MS } from '../../shared/contracts/limits'
import type { HostSampler } from '../../shared/sampler'
import type { AgentClient, SendOutcome, SendResult } from './client'
import type { Log } from './log'
import type { AgentSettings } from './settings'
import type { Spool } from './spool'

/** Exit codes of `nodepulse agent`; 2 and 3 come from --once only (a running agent keeps sampling and asks again). */
export const EXIT = { sent: 0, failed: 1, badToken: 2, unknownNode: 3 } as const

export interface AgentDeps {
  settings: AgentSettings
  sampler: HostSampler
  client: AgentClient
  spool: Spool
  log: Log
  version: string
  /** Aborted on SIGTERM/SIGINT: the loop ends after spooling what it holds. */
  stop: AbortSignal
  /** While the server refuses the token or the node: the first wait before asking again, and the longest (default 1 and 10 min). */
  recheckMs?: { first: number, max: number }
  /** Each sample as it is taken (--listen keeps it for the member API); a failure is logged, the sample still goes. */
  onSample?: (sample: StatsSample) => Promise<unknown>
}

type StatsSample = Awaited<ReturnType<HostSampler['sample']>>

const RECHECK_MS = { first: 60_000, max: 600_000 }

const ONCE_TIMEOUT_MS = 10_000
/**
 * The clock for scheduling, deadlines and durations: monotonic, so a wall-clock step (NTP, a
 * manual date change, a VM resumed) neither stalls the loop for the size of a backward step nor
 * skips slots on a forward one. Date is for sample timestamps only.
 */
const now = (): number => performance.now()
const seconds = (ms: number) => Math.round(ms / 1000)

/** The agent for one node: `once()` for cron, `run()` until stopped; both resolve to the exit code. */
export function createAgent({ settings, sampler, client, spool, log, version, stop, recheckMs = RECHECK_MS, onSample }: AgentDeps) {
  const intervalMs = settings.intervalSeconds * 1000
  // Long enough for a loaded server, short enough that a hung one costs about one interval.
  const timeoutMs = Math.min(10_000, Math.max(2_000, intervalMs))
  let reachable: boolean | undefined
  let downSince = 0
  let retryAt = 0
  let skewTold = false
  let dropsTold = false
  let magnitude = spool.count ? Math.floor(Math.log10(spool.count)) : -1
  const refusalsTold = new Set<number>()
  let taken = 0
  // The server refused the token or the node (401/403/404): samples go to the spool until recheckAt.
  let rejected: Extract<SendOutcome, { kind: 'auth' | 'unknown-node' }> | undefined
  let recheckAt = 0
  let recheckDelay = recheckMs.first

  function observe(result: SendResult): void {
    if (skewTold || result.skewMs === undefined || Math.abs(result.skewMs) <= MAX_FUTURE_SKEW_MS) return
    skewTold = true
    const way = result.skewMs > 0 ? 'ahead of' : 'behind'
    log.warn(`this host's clock is ${seconds(Math.abs(result.skewMs))} s ${way} the server's; the server refuses samples more than ${seconds(MAX_FUTURE_SKEW_MS)} s in its future (422) — synchronise the clock (NTP: systemd-timesyncd, chrony)`)
  }

  function down(reason: string, retryAfterMs?: number): void {
    if (retryAfterMs !== undefined) retryAt = now() + retryAfterMs
    // An aborted request at shutdown says nothing about the server.
    if (reachable === false || stop.aborted) return
    reachable = false
    downSince = now()
    const wait = retryAfterMs === undefined ? '' : `, asked to retry in ${seconds(retryAfterMs)} s`
    log.warn(`server unreachable (${reason}${wait}); keeping samples in ${spool.dir}`)
  }

  function up(): void {
    if (reachable === false) {
      log.info(`server reachable again after ${seconds(now() - downSince)} s${spool.count ? `; sending ${spool.count} spooled samples` : ''}`)
    }
    reachable = true
  }

  async function toSpool(sample: string): Promise<void> {
    const dropped = spool.dropped
    await spool.add(sample)
    const now = spool.count ? Math.floor(Math.log10(spool.count)) : -1
    if (now > magnitude) log.info(`spool holds ${spool.count} sample${spool.count === 1 ? '' : 's'}`)
    magnitude = Math.max(magnitude, now)
    if (spool.dropped > dropped && !dropsTold) {
      dropsTold = true
      log.warn(`spool full (--spool-max ${settings.spoolMax}): dropping the oldest samples; the server is told how many when it is back`)
    }
  }

  function refused(outcome: Extract<SendOutcome, { kind: 'refused' }>, what: string, then = 'it is not sent again'): void {
    if (refusalsTold.has(outcome.status)) return
    refusalsTold.add(outcome.status)
    log.warn(`the server refused ${what} (${outcome.message}); ${then}`)
  }

  /** Tells the server how many samples the spool's bound dropped, once it answers again. */
  async function reportDrops(): Promise<void> {
    const n = spool.dropped
    if (!n) return
    const result = await client.sendEvent({
      event_type: 'error_report', severity: 'warning',
      message: `The agent dropped ${n} samples: the oldest past its spool's bound while the server could not be reached (--spool-max ${settings.spoolMax}), or spooled ones the server refused as invalid (422)`,
      data: { dropped_samples: n, spool_max: settings.spoolMax, agent_version: version },
    }, timeoutMs)
    if (result.kind !== 'ok') return
    await spool.resetDropped()
    dropsTold = false
    log.info(`told the server that ${n} samples were dropped from the spool`)
  }

  /** Sends spooled batches, oldest first, until `deadline`; returns an outcome that must stop the agent. */
  async function drain(deadline: number): Promise<SendOutcome | undefined> {
    let lastMs = 0
    const before = spool.count
    while (spool.count && !stop.aborted && now() >= retryAt && now() + lastMs < deadline) {
      const batch = await spool.oldest()
      if (!batch) break
      const started = now()
      const result = await client.sendStats(batch.body, timeoutMs)
      lastMs = now() - started
      observe(result)
      if (result.kind === 'ok') await spool.remove(batch)
      else if (result.kind === 'refused' && result.invalidSamples?.length && result.invalidSamples.every(i => i < batch.count)) {
        // Only those samples are at fault: drop them (counted, told to the server like the bound's drops), resend the rest.
        refused(result, `${result.invalidSamples.length} of a spooled batch of ${batch.count} samples`, 'they are dropped and counted, the rest is sent')
        await spool.dropSamples(batch, result.invalidSamples)
      }
      else if (result.kind === 'refused') {
        refused(result, `a spooled batch of ${batch.count} samples`)
        await spool.setAside(batch, 'refused')
      }
      else if (result.kind === 'retry') {
        down(result.reason, result.retryAfterMs)
        return undefined
      }
      else return result
    }
    if (before && !spool.count) {
      magnitude = -1
      log.info('spool drained: every spooled sample is sent')
    }
    return undefined
  }

  /**
   * The server refused the token or the node. Restarting cannot fix that, and stopping would lose
   * every sample until someone notices: say once what is wrong and how to fix it, keep sampling into
   * the (bounded) spool, and ask again after 1 min, then less and less often, at most every 10 min.
   */
  function reject(outcome: Extract<SendOutcome, { kind: 'auth' | 'unknown-node' }>): void {
    if (!rejected) {
      log.warn(`${outcome.message}. Fix it (for the service: run the install command the Nodes page shows again, or edit /etc/nodepulse/agent.env and restart nodepulse-agent); until then samples are kept in ${spool.dir} (at most ${settings.spoolMax}) and the server is asked again every ${seconds(recheckMs.first)}–${seconds(recheckMs.max)} s`)
    }
    rejected = outcome
    recheckAt = now() + recheckDelay
    recheckDelay = Math.min(recheckDelay * 2, recheckMs.max)
  }

  function accepted(): void {
    if (!rejected) return
    rejected = undefined
    recheckDelay = recheckMs.first
    log.info(`the server accepted the token and node ${settings.nodeId} again${spool.count ? `; sending ${spool.count} spooled samples` : ''}`)
  }

  /** Sends a live sample (or spools it), then drains the spool for the rest of the interval. */
  async function deliver(sample: string, deadline: number): Promise<void> {
    if (now() < retryAt || (rejected && now() < recheckAt)) {
      await toSpool(sample)
      return undefined
    }
    const result = await client.sendStats(sample, timeoutMs)
    observe(result)
    switch (result.kind) {
      case 'ok': {
        up()
        accepted()
        await reportDrops()
        const stopping = await drain(deadline)
        if (stopping?.kind === 'auth' || stopping?.kind === 'unknown-node') reject(stopping)
        return
      }
      case 'retry':
        await toSpool(sample)
        down(result.reason, result.retryAfterMs)
        return
      case 'refused':
        refused(result, 'a sample')
        return
      default:
        // Kept: once the token or the node id is fixed, it goes with the spool.
        await toSpool(sample)
        up()
        reject(result)
    }
  }

  const take = async (): Promise<string> => {
    taken++
    const sample = await sampler.sample()
    await keep(onSample, sample, log)
    return JSON.stringify(sample)
  }

  return {
    /** One sample, sent with whatever the spool holds; the exit code says how it went. */
    async once(): Promise<number> {
      const sample = await take()
      const result = await client.sendStats(sample, ONCE_TIMEOUT_MS)
      observe(result)
      switch (result.kind) {
        case 'ok': {
          await reportDrops()
          const stopping = await drain(Number.POSITIVE_INFINITY)
          if (spool.count && !stopping) log.warn(`the sample is sent; ${spool.count} spooled samples wait for the next run`)
          return EXIT.sent
        }
        case 'retry':
          await toSpool(sample)
          log.warn(`not sent: ${result.reason}; the sample is spooled in ${spool.dir} and goes with the next run that reaches the server`)
          return EXIT.failed
        case 'refused':
          log.warn(`not sent: the server refused the sample (${result.message})`)
          return EXIT.failed
        case 'auth':
          await toSpool(sample)
          log.warn(`not sent: ${result.message}`)
          return EXIT.badToken
        case 'unknown-node':
          await toSpool(sample)
          log.warn(`not sent: ${result.message}`)
          return EXIT.unknownNode
      }
    },

    /** Samples every interval until stopped (exit 0); a refused token or node does not stop it (see reject). */
    async run(): Promise<number> {
      log.info(`started ${version}: node ${settings.nodeId} → ${settings.server} every ${settings.intervalSeconds} s; spool ${spool.dir} (${spool.count} waiting, at most ${settings.spoolMax})`)
      let next = now()
      while (!stop.aborted) {
        const slot = next
        try {
          await deliver(await take(), slot + intervalMs)
        }
        catch (error) {
          // A sampling or spool failure costs this sample, never the agent.
          log.warn(`this sample failed: ${error instanceof Error ? error.message : String(error)}`)
        }
        next = slot + intervalMs
        // More than one interval behind (a hung request, a suspended host): skip the missed slots.
        if (now() > next + intervalMs) next = now()
        await sleep(next - now(), stop)
      }
      log.info(`stopped: ${taken} samples taken this run, ${spool.count} waiting in the spool`)
      return EXIT.sent
    },
  }
}

async function keep(onSample: AgentDeps['onSample'], sample: StatsSample, log: Log): Promise<void> {
  try {
    await onSample?.(sample)
  }
  catch (error) {
    log.warn(`could not keep this sample for the member API: ${error instanceof Error ? error.message : String(error)}`)
  }
}

/**
 * `--listen` without `--server`: samples every interval on the same monotonic schedule as
 * {@link createAgent}'s run, only for `onSample`; resolves to exit code 0 when stopped.
 */
export async function runListenOnly(deps: { intervalSeconds: number, sampler: HostSampler, onSample: NonNullable<AgentDeps['onSample']>, log: Log, stop: AbortSignal }): Promise<number> {
  const intervalMs = deps.intervalSeconds * 1000
  let taken = 0
  let next = now()
  while (!deps.stop.aborted) {
    const slot = next
    try {
      taken++
      await keep(deps.onSample, await deps.sampler.sample(), deps.log)
    }
    catch (error) {
      deps.log.warn(`this sample failed: ${error instanceof Error ? error.message : String(error)}`)
    }
    next = slot + intervalMs
    if (now() > next + intervalMs) next = now()
    await sleep(next - now(), deps.stop)
  }
  deps.log.info(`stopped: ${taken} samples taken this run`)
  return EXIT.sent
}

function sleep(ms: number, stop: AbortSignal): Promise<void> {
  if (ms <= 0 || stop.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      stop.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    stop.addEventListener('abort', done)
  })
}
