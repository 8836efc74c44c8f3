import { silenceListQuery, type SilenceList } from '../../../../shared/contracts/silences'
import { useSilences } from '../../../services/silences'

/** Silences, active first, then scheduled, then the newest expired; `?state=` keeps one state. */
export default defineEventHandler(async (event): Promise<SilenceList> => {
  const { state } = readQueryAs(event, silenceListQuery)
  return (await useSilences()).list(state)
})
