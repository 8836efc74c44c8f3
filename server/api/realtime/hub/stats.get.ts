import { useChannels } from '../../../services/streams/seed001'

/**
 * Seed 001's hub stats, in its `{success, data}` envelope: connected clients, subscriptions per
 * channel (a /stream/all client counts for each), connections per stream, events sent, disconnections.
 */
export default defineEventHandler(async () => {
  const channels = await useChannels()
  return { success: true, data: channels.hubStats() }
})
