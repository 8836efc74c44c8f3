import { streamQuery } from '../../../../../../shared/contracts/seed000'

/** Seed 000's unified stream: `connected`, then every node's summary each `interval` seconds. */
export default defineEventHandler(async (event) => {
  const { interval } = readQueryAs(event, streamQuery)
  await assertStreamCapacity(event)
  const { streams } = await services()
  await streams.all(event.node.req, event.node.res, interval)
})
