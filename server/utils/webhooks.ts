import type { H3Event } from 'h3'
import type { WebhookView } from '../../shared/contracts/rest'

/** The value, or 404 naming the webhook that does not exist. */
export function webhookOr404<T>(value: T | undefined, id: number): T {
  if (value === undefined) throw createError({ statusCode: 404, message: `Webhook ${id} not found` })
  return value
}

/**
 * A webhook as this caller may see it: receiver URLs often carry a secret of their own (chat
 * services put a token in the path), so viewers see only the origin.
 */
export function webhookFor(event: H3Event, view: WebhookView): WebhookView {
  if (requirePrincipal(event).role === 'admin') return view
  return { ...view, url: `${new URL(view.url).origin}/…` }
}
