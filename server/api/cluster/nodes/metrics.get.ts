import { toListEnvelope } from '../../../../shared/contracts/seed004'
import { useValkey } from '../../../services/valkey/service'

/** Seed 004: every Valkey node's metrics and the cluster summary. */
export default defineEventHandler(async () => toListEnvelope(await (await useValkey()).metrics()))
