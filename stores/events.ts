import { defineStore } from 'pinia'
import type { EventPage, EventStats, EventView } from '~~/shared/contracts/seed002'
import type { StreamState } from '~/utils/eventSourceTransport'

/** The global event stream's connection, as the header shows it. */
export interface SSEConnectionState {
  state: StreamState
  /** Failed reconnects in a row. */
  attempts: number
  error: string | null
  /** When the stream last reported `connected` (ms). */
  connectedAt: number | null
}

/** Who acknowledged an event, and when. */
export type Ack = Pick<EventView, 'acknowledged_at' | 'acknowledged_by'>

/** Events kept in memory and in IndexedDB. */
export const KEPT_EVENTS = 200
const SAVE_DELAY_MS = 500
const COUNT_DELAY_MS = 300

const needsAttention = (e: EventView) => e.severity === 'warning' || e.severity === 'error'

/**
 * Events from the global stream (newest first) and its connection state. Recent events persist in
 * IndexedDB, so a reload shows them at once and the stream resumes after the newest; acks are kept
 * by id, so a page holding older events (history) can show them too.
 */
export const useEventsStore = defineStore('events', () => {
  const events = shallowRef<EventView[]>([])
  const connection = ref<SSEConnectionState>({ state: 'closed', attempts: 0, error: null, connectedAt: null })
  const acks = shallowRef(new Map<number, Ack>())
  /** Unacknowledged warnings and errors on the server (any age); null until known. */
  const unacknowledged = ref<number | null>(null)
  /** Open incidents nobody acknowledged yet: what the header's bell counts; null until known. */
  const openIncidents = ref<number | null>(null)
  /** The stream id of the newest event, where a reload resumes. */
  const lastEventId = ref<string | null>(null)
  /** Bumped when the stream could not resume: holders of history should reload it. */
  const resets = ref(0)

  let owner: string | null = null
  let unsaved: EventView[] = []
  let saveTimer: ReturnType<typeof setTimeout> | undefined
  let countTimer: ReturnType<typeof setTimeout> | undefined

  function save() {
    saveTimer = undefined
    if (!owner) return
    void saveCachedEvents(owner, unsaved, lastEventId.value, KEPT_EVENTS)
    unsaved = []
  }

  function scheduleSave() {
    clearTimeout(saveTimer)
    saveTimer = setTimeout(save, SAVE_DELAY_MS)
  }

  // A save still waiting when the page goes away is started at once, so a reload resumes from here.
  if (import.meta.client) {
    window.addEventListener('pagehide', () => {
      if (saveTimer === undefined) return
      clearTimeout(saveTimer)
      save()
    })
  }

  /** Records an acknowledgement, for the event here and for anyone holding an older copy. */
  function applyAck(id: number, ack: Ack) {
    acks.value = new Map(acks.value).set(id, ack)
    const index = events.value.findIndex(e => e.id === id)
    if (index < 0) return
    const updated = { ...events.value[index]!, ...ack }
    events.value = events.value.map((e, i) => (i === index ? updated : e))
    unsaved.push(updated)
  }

  /** Adds a stream event (once, in id order); `streamId` is its SSE id, to resume from. False when already known. */
  function addEvent(event: EventView, streamId?: string): boolean {
    if (streamId) lastEventId.value = streamId
    if (event.event_type === 'event_acknowledged') {
      const target = Number(event.data.acknowledged_event_id)
      const by = typeof event.data.acknowledged_by === 'string' ? event.data.acknowledged_by : null
      if (target) applyAck(target, { acknowledged_at: event.created_at, acknowledged_by: by })
    }
    if (events.value.some(e => e.id === event.id)) return false
    const list = [...events.value]
    const at = list.findIndex(e => e.id < event.id)
    list.splice(at < 0 ? list.length : at, 0, event)
    events.value = list.slice(0, KEPT_EVENTS)
    unsaved.push(event)
    scheduleSave()
    if (needsAttention(event) || event.event_type === 'event_acknowledged' || event.event_type.startsWith('incident_')) scheduleCountRefresh()
    return true
  }

  /** Forgets every event, here and in IndexedDB (logout). */
  async function clearEvents() {
    clearTimeout(saveTimer)
    clearTimeout(countTimer)
    events.value = []
    acks.value = new Map()
    unsaved = []
    lastEventId.value = null
    unacknowledged.value = null
    openIncidents.value = null
    owner = null
    await clearCachedEvents()
  }

  /** Loads what IndexedDB kept for this user (another user's cache is dropped). */
  async function hydrate(username: string) {
    owner = username
    const cached = await loadCachedEvents(username, KEPT_EVENTS)
    if (owner !== username) return
    const seen = new Set(events.value.map(e => e.id))
    events.value = [...events.value, ...cached.events.filter(e => !seen.has(e.id))].sort((a, b) => b.id - a.id).slice(0, KEPT_EVENTS)
    lastEventId.value ??= cached.lastEventId
  }

  /** Where the stream stands (its greeting or a reset says so even when no event came). */
  function setPosition(streamId: string | null) {
    if (!streamId || streamId === lastEventId.value) return
    lastEventId.value = streamId
    scheduleSave()
  }

  /** The stream could not resume: what is kept may have gaps, so it is replaced by the newest history. */
  async function reloadHistory(streamId: string | null) {
    setPosition(streamId)
    resets.value++
    const { $api } = useNuxtApp()
    const page = await $api<EventPage>('/api/v1/events', { query: { limit: 100 } }).catch(() => null)
    if (!page) return
    events.value = page.events
    unsaved = [...page.events]
    scheduleSave()
    void refreshUnacknowledged()
  }

  function setConnectionState(patch: Partial<SSEConnectionState>) {
    connection.value = { ...connection.value, ...patch }
  }

  async function refreshUnacknowledged() {
    const { $api } = useNuxtApp()
    const stats = await $api<EventStats>('/api/v1/events/stats').catch(() => null)
    if (!stats || !owner) return
    unacknowledged.value = stats.unacknowledged
    openIncidents.value = stats.open_incidents
  }

  function scheduleCountRefresh() {
    clearTimeout(countTimer)
    countTimer = setTimeout(() => void refreshUnacknowledged(), COUNT_DELAY_MS)
  }

  /** Acknowledges an event (viewers may too); the count drops at once and is then checked. */
  async function ack(event: EventView): Promise<EventView> {
    const { $api } = useNuxtApp()
    const updated = await $api<EventView>(`/api/v1/events/${event.id}/ack`, { method: 'POST' })
    const wasOpen = !(acks.value.get(event.id)?.acknowledged_at ?? event.acknowledged_at)
    applyAck(event.id, { acknowledged_at: updated.acknowledged_at, acknowledged_by: updated.acknowledged_by })
    scheduleSave()
    if (wasOpen && needsAttention(event) && unacknowledged.value) unacknowledged.value--
    scheduleCountRefresh()
    return updated
  }

  const getEventsByType = (type: string) => events.value.filter(e => e.event_type === type)
  /** Events about a node (by id) or a cluster (by its id). */
  const getEventsByResource = (resourceId: number | string) =>
    events.value.filter(e => String(e.node_id) === String(resourceId) || e.cluster_id === String(resourceId))

  return {
    events, connection, acks, unacknowledged, openIncidents, lastEventId, resets,
    addEvent, clearEvents, setConnectionState, getEventsByType, getEventsByResource,
    hydrate, setPosition, reloadHistory, refreshUnacknowledged, ack, applyAck,
  }
})
