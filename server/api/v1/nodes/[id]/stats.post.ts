import type { H3Event } from 'h3'
import { idParam } from '../../../../../shared/contracts/common'
import { MAX_REPORT_BYTES, statsReport } from '../../../../../shared/contracts/ingest'
import { NodeGoneError, samplesFromReport } from '../../../../services/ingest'

/** An agent pushes one sample or a batch; answered only once the samples are committed. */
export default defineEventHandler(async (event) => {
  const { ingest, metrics } = await services()
  try {
    const { id } = readParams(event, idParam)
    await requireAgent(event, id)
    const report = await readJson(event, statsReport, MAX_REPORT_BYTES)
    const result = await store(event, id, () => ingest.submit(id, samplesFromReport(report, new Date())))
    return { node_id: id, accepted: result.accepted, stored: result.stored, duplicates: result.duplicates, last_seen: result.lastSeen.toISOString() }
  }
  catch (error) {
    metrics.rejectReport((error as { statusCode?: number }).statusCode ?? 500)
    throw error
  }
})

/** Runs the write: 404 if the node went away meanwhile, 503 with Retry-After for anything temporary. */
async function store<T>(event: H3Event, id: number, write: () => Promise<T>): Promise<T> {
  try {
    return await write()
  }
  catch (error) {
    if (error instanceof NodeGoneError) throw createError({ statusCode: 404, message: `Node ${id} was deleted` })
    console.error(`[nodepulse] storing a report of node ${id} failed:`, error)
    setResponseHeader(event, 'retry-after', 5)
    throw createError({ statusCode: 503, message: 'The report could not be stored right now; retry later' })
  }
}
