import type { CreateSilenceBody, SilenceView } from '~~/shared/contracts/silences'
import type { Labels } from '~/utils/labels'

/** The list is read again this often besides on every silence_* event (a window's start or end is one). */
const REFRESH_MS = 60_000

/** Dates go as ISO strings on the wire. */
export type CreateSilenceRequest = Omit<CreateSilenceBody, 'starts_at' | 'ends_at'> & { starts_at?: string, ends_at: string }

/**
 * The silences (active, scheduled, recently expired), read again whenever the event stream brings
 * a silence_* event (created, started, changed, ended, deleted, by anyone); the actions are for admins.
 */
export function useSilences() {
  const { $api } = useNuxtApp()
  const store = useEventsStore()
  const { items: silences, loaded, loadError, refresh } = useApiList<SilenceView>('/api/v1/silences')
  usePolling(refresh, REFRESH_MS)
  const newest = computed(() => store.events.find(e => e.event_type.startsWith('silence_'))?.id ?? null)
  watch(newest, () => void refresh())

  /** Runs a write, then reads the list again. */
  async function write(url: string, method: 'POST' | 'DELETE', body?: object): Promise<void> {
    await $api(url, { method, body })
    await refresh()
  }

  return {
    silences,
    loaded,
    loadError,
    refresh,
    active: computed(() => silences.value.filter(s => s.state === 'active')),
    create: (body: CreateSilenceRequest) => write('/api/v1/silences', 'POST', body),
    end: (id: number) => write(`/api/v1/silences/${id}/end`, 'POST'),
    remove: (id: number) => write(`/api/v1/silences/${id}`, 'DELETE'),
  }
}

/** The active silence that names each node (by id or by a label it carries), by node id, for the cards' muted mark. */
export function useSilencedNodes(labels: Ref<ReadonlyMap<number, Labels>>) {
  const { active } = useSilences()
  return computed<ReadonlyMap<number, SilenceView>>(() => new Map([...labels.value].flatMap(([id, nodeLabels]): [number, SilenceView][] => {
    const silence = active.value.find(s => silenceCoversNode(s, { id, labels: nodeLabels }))
    return silence ? [[id, silence]] : []
  })))
}
