import { z } from 'zod'
import { CHANNELS, STREAM_PATHS } from '../../../shared/contracts/seed001'
import { resumePoint } from '../../services/streams/replay'
import { useChannels } from '../../services/streams/seed001'

// Seed 001's paths; providers and requests are its words for our nodes and reports, logs its request log.
const Params = z.object({
  channel: z.string().transform(c => (Object.hasOwn(STREAM_PATHS, c) ? STREAM_PATHS[c] : undefined))
    .pipe(z.enum([...CHANNELS, 'all'], { error: 'must be one of stats, logs, events, nodes, providers, reports, requests, heartbeat, all' })),
})
const Query = z.object({ lastEventId: z.string().optional() })

/** Seed 001's named-event streams; `Last-Event-ID` (or `?lastEventId=`) replays what was missed. */
export default defineEventHandler(async (event) => {
  const { channel } = parseOr(Params, getRouterParams(event), 404, 'stream')
  const query = readQueryAs(event, Query)
  await assertStreamCapacity(event)
  const channels = await useChannels()
  await channels.open(event.node.req, event.node.res, channel, resumePoint(getRequestHeader(event, 'last-event-id'), query))
})
