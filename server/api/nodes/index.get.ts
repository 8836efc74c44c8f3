import { useMemberApi } from '../../services/federation/memberApi'

/** Seed 003's member API: this server's nodes, each with its stable source id. */
export default defineEventHandler(async () => (await useMemberApi()).nodes())
