import { streamQuery } from '../../../../../shared/contracts/seed000'
import { useNodeStreams } from '../../../../services/streams/seed000'

/** Seed 000's old master-only stream: the host's full metrics blob each `interval` seconds. */
export default defineEventHandler(async (event) => {
  const { interval } = readQueryAs(event, streamQuery)
  await assertStreamCapacity(event)
  const streams = await useNodeStreams()
  await streams.master(event.node.req, event.node.res, interval)
})
