import type { EventView } from '~~/shared/contracts/seed002'
import { toRaw } from 'vue'

/** What survives a reload: recent events, and where the stream stopped. */
export interface CachedEvents { owner: string, lastEventId: string | null, events: EventView[] }

const DB_NAME = 'nodepulse'
const STORE = 'events'
const META = 'meta'

let opening: Promise<IDBDatabase | null> | null = null

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve()
    tx.onerror = () => reject(tx.error)
    tx.onabort = () => reject(tx.error)
  })
}

/** The database, or null where IndexedDB is missing or refused (private windows): then nothing persists. */
function db(): Promise<IDBDatabase | null> {
  opening ??= new Promise((resolve) => {
    if (typeof indexedDB === 'undefined') return resolve(null)
    const req = indexedDB.open(DB_NAME, 1)
    req.onupgradeneeded = () => {
      req.result.createObjectStore(STORE, { keyPath: 'id' })
      req.result.createObjectStore(META)
    }
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => resolve(null)
    req.onblocked = () => resolve(null)
  })
  return opening
}

/** The cached events (newest first, at most `limit`) if they belong to `owner`; anyone else's are dropped. */
export async function loadCachedEvents(owner: string, limit: number): Promise<CachedEvents> {
  const empty: CachedEvents = { owner, lastEventId: null, events: [] }
  const database = await db()
  if (!database) return empty
  try {
    const tx = database.transaction([STORE, META], 'readonly')
    const [storedOwner, lastEventId, events] = await Promise.all([
      request(tx.objectStore(META).get('owner')),
      request(tx.objectStore(META).get('lastEventId')),
      request(tx.objectStore(STORE).getAll()),
    ])
    if (storedOwner !== owner) {
      await clearCachedEvents()
      return empty
    }
    const newest = (events as EventView[]).sort((a, b) => b.id - a.id).slice(0, limit)
    return { owner, lastEventId: typeof lastEventId === 'string' ? lastEventId : null, events: newest }
  }
  catch {
    return empty
  }
}

/** Adds or replaces events, remembers the stream position, and keeps only the newest `limit`. */
export async function saveCachedEvents(owner: string, events: readonly EventView[], lastEventId: string | null, limit: number): Promise<void> {
  const database = await db()
  if (!database) return
  try {
    const tx = database.transaction([STORE, META], 'readwrite')
    const store = tx.objectStore(STORE)
    // toRaw: IndexedDB's structured clone refuses Vue's proxies.
    for (const event of events) store.put(toRaw(event))
    tx.objectStore(META).put(owner, 'owner')
    if (lastEventId) tx.objectStore(META).put(lastEventId, 'lastEventId')
    const keys = await request(store.getAllKeys()) as number[]
    const surplus = keys.length - limit
    if (surplus > 0) store.delete(IDBKeyRange.upperBound(keys[surplus - 1]!))
    await done(tx)
  }
  catch {
    // A full or broken cache only costs the next reload its head start.
  }
}

/** Forgets every cached event and the stream position (logout). */
export async function clearCachedEvents(): Promise<void> {
  const database = await db()
  if (!database) return
  try {
    const tx = database.transaction([STORE, META], 'readwrite')
    tx.objectStore(STORE).clear()
    tx.objectStore(META).clear()
    await done(tx)
  }
  catch {
    // Nothing more to do: the next login checks the owner anyway.
  }
}
