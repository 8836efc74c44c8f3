import type { ChannelType } from '~~/shared/contracts/channels'
import type { DeliveryView, WebhookView, WebhookWithSecret } from '~~/shared/contracts/rest'
import type { EventType, Severity } from '~~/shared/contracts/seed002'

/** What the add form sends; the server checks `url` and `settings` against the type's own fields. */
export interface NewWebhook {
  type: ChannelType
  name: string
  url?: string
  settings?: Record<string, unknown>
  event_types: EventType[]
  min_severity: Severity
  labels: string
  repeat_seconds: number
}

/** What the edit form sends: the common fields (the repeat only when changed), and the type's `url` or `settings` (the type stays). */
export type ChannelPatch = Omit<NewWebhook, 'type' | 'repeat_seconds'> & { repeat_seconds?: number }

/** What a webhook row asks the page to do. */
export type WebhookAction = 'edit' | 'test' | 'deliveries' | 'rotate' | 'toggle' | 'remove'

/** A page of a webhook's delivery log, newest first. */
export interface DeliveryPage { deliveries: DeliveryView[], next_cursor: number | null }

/** The webhooks and the actions on them (admins only). */
export function useWebhooks() {
  const { $api } = useNuxtApp()
  const { items: webhooks, loaded, loadError, refresh } = useApiList<WebhookView>('/api/v1/webhooks')
  // Viewers get a notice instead of the list, so they do not ask for what the server would refuse.
  onMounted(() => {
    if (useAuthStore().isAdmin) void refresh()
  })

  async function create(body: NewWebhook): Promise<WebhookWithSecret> {
    const created = await $api<WebhookWithSecret>('/api/v1/webhooks', { method: 'POST', body })
    await refresh()
    return created
  }

  async function update(id: number, patch: ChannelPatch): Promise<WebhookView> {
    const updated = await $api<WebhookView>(`/api/v1/webhooks/${id}`, { method: 'PATCH', body: patch })
    await refresh()
    return updated
  }

  async function setEnabled(id: number, enabled: boolean): Promise<void> {
    await $api<WebhookView>(`/api/v1/webhooks/${id}`, { method: 'PATCH', body: { enabled } })
    await refresh()
  }

  async function rotateSecret(id: number): Promise<WebhookWithSecret> {
    return await $api<WebhookWithSecret>(`/api/v1/webhooks/${id}/secret`, { method: 'POST' })
  }

  async function sendTest(id: number): Promise<DeliveryView> {
    const delivery = await $api<DeliveryView>(`/api/v1/webhooks/${id}/test`, { method: 'POST' })
    await refresh()
    return delivery
  }

  async function remove(id: number): Promise<void> {
    await $api(`/api/v1/webhooks/${id}`, { method: 'DELETE' })
    await refresh()
  }

  async function deliveries(id: number, cursor: number | null): Promise<DeliveryPage> {
    return await $api<DeliveryPage>(`/api/v1/webhooks/${id}/deliveries`, { query: cursor === null ? {} : { cursor } })
  }

  return { webhooks, loaded, loadError, refresh, create, update, setEnabled, rotateSecret, sendTest, remove, deliveries }
}
