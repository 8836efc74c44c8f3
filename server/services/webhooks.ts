import { and, asc, desc, eq, inArray, lt } from 'drizzle-orm'
import type { CreateWebhookBody, DeliveryPage, DeliveryView, Role, UpdateWebhookBody, WebhookView, WebhookWithSecret } from '../../shared/contracts/rest'
import { CHANNEL_SETTINGS, isUrlChannel, SECRET_SETTINGS, type ChannelType, type StoredSettings } from '../../shared/contracts/channels'
import type { Database } from '../db'
import { events, webhookDeliveries, webhooks, type DeliveryRow, type WebhookRow } from '../db/schema'
import { ConflictError, InvalidInputError, NotFoundError } from './errors'
import { startedInstance } from './started'
import { generateWebhookSecret } from './webhookDelivery'

/** The event type of `POST /api/v1/webhooks/{id}/test` deliveries; they use event id 0. */
export const TEST_EVENT_TYPE = 'webhook_test'

const deliveryColumns = { delivery: webhookDeliveries, eventType: events.type }

/** A delivery as the API shows it; `eventType` is null when retention deleted the event. */
export function toDeliveryView(d: DeliveryRow, eventType: string | null): DeliveryView {
  return {
    id: d.id, webhook_id: d.webhookId, event_id: d.eventId, event_type: d.eventId === 0 ? TEST_EVENT_TYPE : eventType,
    repeat: d.repeat, state: d.state, attempts: d.attempts, response_status: d.responseStatus, error: d.error, duration_ms: d.durationMs,
    created_at: d.createdAt.toISOString(), delivered_at: d.deliveredAt?.toISOString() ?? null,
    next_attempt_at: d.state === 'pending' ? d.nextAttemptAt.toISOString() : null,
  }
}

const isSecret = (key: string) => (SECRET_SETTINGS as readonly string[]).includes(key)

/** A channel as the API shows it: never the signing secret, nor a secret setting's value (only that it is set). */
export function toWebhookView(w: WebhookRow, lastDelivery: DeliveryView | null): WebhookView {
  return {
    id: w.id, name: w.name, type: w.type, url: w.url,
    settings: Object.fromEntries(Object.entries(w.settings).filter(([key]) => !isSecret(key))),
    secrets_set: Object.keys(w.settings).filter(isSecret), labels: w.labelSelector,
    event_types: w.eventTypes, min_severity: w.minSeverity, repeat_seconds: w.repeatSeconds,
    enabled: w.enabled, created_at: w.createdAt.toISOString(), last_delivery: lastDelivery,
  }
}

/**
 * A channel as a caller with `role` may see it: receiver URLs often carry a secret of their own
 * (chat services put a token in the path), so viewers see only the origin, and no settings.
 */
function shownTo(role: Role, view: WebhookView): WebhookView {
  if (role === 'admin') return view
  return { ...view, url: view.url && `${new URL(view.url).origin}/…`, settings: null, secrets_set: [] }
}

/**
 * Stored settings with a PATCH's merged in: a key left out stays (a secret need not be sent again),
 * one set to null is removed; 422 naming the field when the result does not fit the channel's type.
 */
export function mergeSettings(type: ChannelType, stored: StoredSettings, patch: Record<string, unknown>): StoredSettings {
  const merged = Object.fromEntries(Object.entries({ ...stored, ...patch }).filter(([, value]) => value !== null))
  const result = CHANNEL_SETTINGS[type].safeParse(merged)
  if (result.success) return result.data
  throw new InvalidInputError(`Invalid body: ${result.error.issues.slice(0, 10).map(i => `${['settings', ...i.path].join('.')}: ${i.message}`).join('; ')}`)
}

/** 404 naming a webhook that does not exist. */
export const webhookNotFound = (id: number) => new NotFoundError(`Webhook ${id} not found`)

/** A webhook's row; 404 naming it when it does not exist. */
export async function findWebhook(db: Database, id: number): Promise<WebhookRow> {
  const [row] = await db.select().from(webhooks).where(eq(webhooks.id, id))
  if (!row) throw webhookNotFound(id)
  return row
}

/** Admins' webhooks (receivers of signed event JSON) and their delivery history; sending is the dispatcher's. */
export function createWebhooks(db: Database) {

  async function lastDeliveries(ids: number[]): Promise<Map<number, DeliveryView>> {
    if (!ids.length) return new Map()
    const rows = await db.selectDistinctOn([webhookDeliveries.webhookId], deliveryColumns).from(webhookDeliveries)
      .leftJoin(events, eq(events.id, webhookDeliveries.eventId))
      .where(inArray(webhookDeliveries.webhookId, ids))
      .orderBy(webhookDeliveries.webhookId, desc(webhookDeliveries.id))
    return new Map(rows.map(r => [r.delivery.webhookId, toDeliveryView(r.delivery, r.eventType)]))
  }

  const view = async (w: WebhookRow) => toWebhookView(w, (await lastDeliveries([w.id])).get(w.id) ?? null)

  return {
    /** Every webhook with its newest delivery, by id, as a caller with `role` may see it. */
    async list(role: Role): Promise<WebhookView[]> {
      const rows = await db.select().from(webhooks).orderBy(asc(webhooks.id))
      const last = await lastDeliveries(rows.map(w => w.id))
      return rows.map(w => shownTo(role, toWebhookView(w, last.get(w.id) ?? null)))
    },

    /** One webhook, as a caller with `role` may see it. */
    async get(id: number, role: Role): Promise<WebhookView> {
      return shownTo(role, await view(await findWebhook(db, id)))
    },

    /** Adds a channel; a webhook's new signing secret is returned this once (and on rotation). */
    async create(input: CreateWebhookBody): Promise<WebhookWithSecret> {
      const [row] = await db.insert(webhooks).values({
        name: input.name, type: input.type, url: 'url' in input ? input.url : null, settings: input.settings ?? {}, labelSelector: input.labels ?? '',
        secret: generateWebhookSecret(), eventTypes: input.event_types ?? [],
        minSeverity: input.min_severity ?? 'warning', repeatSeconds: input.repeat_seconds ?? 0, enabled: input.enabled ?? true,
      }).returning()
      return { ...toWebhookView(row!, null), secret: row!.secret }
    },

    /** Changes the given fields; settings are merged into the stored ones. */
    async update(id: number, patch: UpdateWebhookBody): Promise<WebhookView> {
      const current = await findWebhook(db, id)
      if (patch.url !== undefined && !isUrlChannel(current.type)) throw new InvalidInputError(`Invalid body: url: a ${current.type} channel has no url; change its settings`)
      const [row] = await db.update(webhooks).set({
        name: patch.name, url: patch.url, eventTypes: patch.event_types, minSeverity: patch.min_severity, labelSelector: patch.labels,
        settings: patch.settings && mergeSettings(current.type, current.settings, patch.settings),
        repeatSeconds: patch.repeat_seconds, enabled: patch.enabled, updatedAt: new Date(),
      }).where(eq(webhooks.id, id)).returning()
      if (!row) throw webhookNotFound(id)
      return view(row)
    },

    /** Deletes a webhook and its deliveries; pending ones are dropped. */
    async remove(id: number): Promise<void> {
      const rows = await db.delete(webhooks).where(eq(webhooks.id, id)).returning({ id: webhooks.id })
      if (!rows.length) throw webhookNotFound(id)
    },

    /** Replaces a webhook channel's signing secret; the old one signs nothing from now on. */
    async rotateSecret(id: number): Promise<WebhookWithSecret> {
      const current = await findWebhook(db, id)
      if (current.type !== 'webhook') throw new ConflictError(`Channel ${id} is a ${current.type} channel: only webhook channels sign their requests`)
      const [row] = await db.update(webhooks).set({ secret: generateWebhookSecret(), updatedAt: new Date() }).where(eq(webhooks.id, id)).returning()
      if (!row) throw webhookNotFound(id)
      return { ...(await view(row)), secret: row.secret }
    },

    /** A page of a webhook's deliveries, newest first. */
    async deliveries(id: number, page: { cursor?: number, limit?: number }): Promise<DeliveryPage> {
      await findWebhook(db, id)
      const limit = page.limit ?? 50
      const rows = await db.select(deliveryColumns).from(webhookDeliveries)
        .leftJoin(events, eq(events.id, webhookDeliveries.eventId))
        .where(and(eq(webhookDeliveries.webhookId, id), page.cursor === undefined ? undefined : lt(webhookDeliveries.id, page.cursor)))
        .orderBy(desc(webhookDeliveries.id)).limit(limit + 1)
      const more = rows.length > limit
      const shown = rows.slice(0, limit)
      return { deliveries: shown.map(r => toDeliveryView(r.delivery, r.eventType)), next_cursor: more ? shown.at(-1)!.delivery.id : null }
    },
  }
}

export type Webhooks = ReturnType<typeof createWebhooks>

const running = startedInstance<Webhooks>()
/** The running webhooks service (503 until start-up has finished). */
export const useWebhooks = running.use
/** Publishes the running webhooks service (start-up) or withdraws it (stop). */
export const setWebhooks = running.set
