import { idParam } from '../../../../../../../shared/contracts/common'
import { streamQuery } from '../../../../../../../shared/contracts/seed000'
import { useNodeStreams } from '../../../../../../services/streams/seed000'

/** Seed 000's per-node stream (the detail modal); 404 before the stream for an unknown node. */
export default defineEventHandler(async (event) => {
  const { id } = readParams(event, idParam)
  const { interval } = readQueryAs(event, streamQuery)
  await findNode(id)
  await assertStreamCapacity(event)
  const streams = await useNodeStreams()
  await streams.node(event.node.req, event.node.res, id, interval)
})
