/** Connected stream clients by topic, events sent and disconnections by reason. */
export default defineEventHandler(async () => {
  const { hub } = await services()
  return hub.stats()
})
