import { z } from 'zod'
import { CHANNELS, parseEventId, type Channel } from '../../services/channels'

// Seed 001's paths; providers and requests are its words for our nodes and reports.
const ALIASES: Record<string, Channel | 'all'> = { providers: 'nodes', requests: 'reports', all: 'all', ...Object.fromEntries(CHANNELS.map(c => [c, c])) }
const Params = z.object({ channel: z.string().refine(c => c in ALIASES, 'must be one of stats, logs, nodes, providers, reports, requests, heartbeat, all') })
const Query = z.object({ lastEventId: z.string().optional() })

/** Seed 001's named-event streams; `Last-Event-ID` (or `?lastEventId=`) replays what was missed. */
export default defineEventHandler(async (event) => {
  const { channel } = parseOr(Params, getRouterParams(event), 404, 'stream')
  const { lastEventId } = readQueryAs(event, Query)
  await assertStreamCapacity(event)
  const { channels } = await services()
  const resume = getRequestHeader(event, 'last-event-id') ?? lastEventId
  // An id that is not ours cannot be resumed from: treat it as unknown, which answers with `reset`.
  const from = resume === undefined || resume === '' ? undefined : parseEventId(resume) ?? Number.MAX_SAFE_INTEGER
  await channels.open(event.node.req, event.node.res, ALIASES[channel]!, from)
})
