import { idParam } from '../../../../../shared/contracts/common'
import { MAX_INGEST_BYTES, statsReport, type IngestAnswer } from '../../../../../shared/contracts/ingest'
import { checkStatsReport } from '../../../../../shared/contracts/ingestCheck'
import { useIngest } from '../../../../services/ingest'

/** An agent pushes one sample or a batch; answered only once the samples are committed. */
export default defineReportHandler(async (event): Promise<IngestAnswer> => {
  const { id } = readParams(event, idParam)
  await requireAgent(event, id)
  // checkStatsReport is statsReport's contract without zod's cost; zod still words every refusal.
  const report = await readJson(event, statsReport, MAX_INGEST_BYTES, checkStatsReport)
  return (await useIngest()).report(id, report)
})
