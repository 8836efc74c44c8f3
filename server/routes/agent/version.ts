import type { AgentVersionView } from '../../../shared/contracts/rest'
import { useInstance } from '../../services/instance'

/** Which agents this server serves, their hashes, and the URL agents should report to. GET and HEAD (no method in the file name for that), no login. */
export default defineEventHandler(async (event): Promise<AgentVersionView> => {
  assertMethod(event, ['GET', 'HEAD'], true)
  const { config } = await useInstance()
  // X-Forwarded-Host counts only behind a trusted proxy: otherwise a caller could name any server to install from.
  const serverUrl = config.publicUrl ?? (await requestOrigin(event)).origin
  return useAgentFiles().version(serverUrl)
})
