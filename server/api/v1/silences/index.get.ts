import { silenceListQuery, type SilenceView } from '../../../../shared/contracts/silences'
import { useSilences } from '../../../services/silences'

/** Silences, active first, then scheduled, then the newest expired; `?state=` keeps one state. */
export default defineEventHandler(async (event): Promise<SilenceView[]> => {
  const { state } = readQueryAs(event, silenceListQuery)
  return (await useSilences()).list(state)
})
