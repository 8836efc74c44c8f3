import { createNodeBody } from '../../../../shared/contracts/rest'
import { toNodeView } from '../../../services/registry'

/** Adds an agent node; its token is in this response only. */
export default defineEventHandler(async (event) => {
  requireAdmin(event)
  const body = await readJson(event, createNodeBody)
  const { nodes, config } = await services()
  const { node, token } = await nodes.createAgent(body.hostname, body.labels)
  setResponseStatus(event, 201)
  return { ...toNodeView(node, Date.now(), config.staleAfterSeconds), token }
})
