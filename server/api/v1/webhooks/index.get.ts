/** Every webhook with its newest delivery (viewers see only each URL's origin). */
export default defineEventHandler(async (event) => {
  const { webhooks } = await services()
  return (await webhooks.list()).map(w => webhookFor(event, w))
})
