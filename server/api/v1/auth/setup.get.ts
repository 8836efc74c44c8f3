import type { SetupState } from '../../../../shared/contracts/rest'
import { useUsers } from '../../../services/auth/users'

/** Whether the first-run setup page is open (no user exists yet). */
export default defineEventHandler(async (): Promise<SetupState> => (await useUsers()).setupState())
