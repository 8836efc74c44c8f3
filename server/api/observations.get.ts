import { pageQuery } from '../../shared/contracts/seed003'
import { useMemberApi } from '../services/federation/memberApi'

/** Seed 003's member API: this server's events after `?since=` (a cursor), oldest first, at most `?limit=`. */
export default defineEventHandler(async (event) => {
  const q = readQueryAs(event, pageQuery)
  return (await useMemberApi()).observations(q)
})
