import { clusterPageQuery } from '../../../shared/contracts/seed003'
import { toListEnvelope } from '../../../shared/contracts/seed004'
import { useClusterApi } from '../../services/federation/clusterApi'

/** Seed 003: samples of all nodes (`?node=`, `?member=` narrow them; `?since=` a cursor), each with its node and member. */
export default defineEventHandler(async (event) => {
  const q = readQueryAs(event, clusterPageQuery)
  return toListEnvelope(await (await useClusterApi()).readings(q))
})
