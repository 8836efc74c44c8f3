import { useMemberApi } from '../services/federation/memberApi'

/** Seed 003's member API: totals and each node's share. */
export default defineEventHandler(async () => (await useMemberApi()).stats())
