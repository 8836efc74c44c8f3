import { toListEnvelope } from '../../../shared/contracts/seed004'
import { useClusterApi } from '../../services/federation/clusterApi'

/** Seed 003: totals across all nodes and members, with per-node and per-member breakdowns. */
export default defineEventHandler(async () => toListEnvelope(await (await useClusterApi()).stats()))
