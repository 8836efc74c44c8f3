import { clusterPageQuery } from '../../../shared/contracts/seed003'
import { toListEnvelope } from '../../../shared/contracts/seed004'
import { useClusterApi } from '../../services/federation/clusterApi'

/** Seed 003: events of all nodes (`?node=`, `?member=` narrow them; `?since=` a cursor), each with its node and member. */
export default defineEventHandler(async (event) => {
  const q = readQueryAs(event, clusterPageQuery)
  return toListEnvelope(await (await useClusterApi()).observations(q))
})
