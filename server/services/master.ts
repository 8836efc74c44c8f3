import { statsSample } from '../../shared/contracts/ingest'
import { createHostSampler, readOsInfo, type OsInfo } from '../../shared/sampler'
import { samplesFromReport, type SampleInput } from './ingest'
import { describeError } from './logSafe'

/** The host's OS description, read once (it does not change while NodePulse runs). */
export function readOs(): Promise<OsInfo> {
  return readOsInfo()
}

/**
 * Samples the host every `intervalSeconds` with the agent's sampler (shared/sampler.ts) and hands
 * each sample on as an agent's report would arrive; a failing read is logged and the next tick
 * tries again. Returns a stop function.
 */
export function startMasterSampler(intervalSeconds: number, diskPath: string, onSample: (s: SampleInput) => Promise<unknown>): () => Promise<void> {
  const sampler = createHostSampler({ diskPath })
  let stopped = false
  let running: Promise<void> | null = null
  let timer: NodeJS.Timeout | undefined
  let failures = 0

  // Through the agent's contract and the ingest's mapping, so the master's rows are an agent's rows.
  const read = async (): Promise<SampleInput> => samplesFromReport(statsSample.parse(await sampler.sample()), new Date())[0]!

  const tick = () => {
    running = read().then(onSample).then(() => {
      failures = 0
    }, (error: unknown) => {
      if (failures++ === 0) console.error(`[nodepulse] sampling this host failed: ${describeError(error)}`)
    }).finally(() => {
      running = null
      if (!stopped) timer = setTimeout(tick, intervalSeconds * 1000)
    })
  }
  tick()
  return async () => {
    stopped = true
    clearTimeout(timer)
    await running
  }
}
