import type { DiscoveredMemberView } from '../../../../shared/contracts/seed003'
import { useDiscovery } from '../../../services/federation/discovery'

/** Servers mDNS discovery found (`discovery_method: mdns`): those made members, and those waiting for a token (admin). */
export default defineEventHandler(async (event): Promise<DiscoveredMemberView[]> => {
  requireAdmin(event)
  return (await useDiscovery()).discovered()
})
