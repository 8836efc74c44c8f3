import { createNodeBody, type CreatedNode } from '../../../../shared/contracts/rest'
import { useNodes } from '../../../services/nodes'

/** Adds an agent node; its token is in this response only. */
export default defineEventHandler(async (event): Promise<CreatedNode> => {
  requireAdmin(event)
  const body = await readJson(event, createNodeBody)
  const created = await (await useNodes()).createAgent(body.hostname, body.labels)
  setResponseStatus(event, 201)
  return created
})
