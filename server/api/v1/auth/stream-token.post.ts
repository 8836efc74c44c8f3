/** A short-lived token for `?token=` on stream URLs, so long-lived secrets stay out of URLs and logs. */
export default defineEventHandler(async (event) => {
  const principal = requirePrincipal(event)
  const { auth, config } = await services()
  const { token, expiresAt } = await auth.createStreamToken(principal, config.streamTokenTtlSeconds)
  setResponseStatus(event, 201)
  return { token, expires_at: expiresAt.toISOString(), expires_in: config.streamTokenTtlSeconds }
})
