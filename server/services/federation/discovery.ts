import { Bonjour, type Browser, type Service } from 'bonjour-service'
import type { DiscoveredMemberView } from '../../../shared/contracts/seed003'
import { startedInstance } from '../started'
import type { MdnsConfig } from './config'
import type { Members } from './members'

/** The DNS-SD service type NodePulse servers (and agents with `--listen`) announce: `_nodepulse._tcp`. */
export const MDNS_TYPE = 'nodepulse'
/** How often the browser asks the network again (announcements between asks are heard at once). */
const REQUERY_MS = 60_000

export interface DiscoveryOptions {
  mdns: MdnsConfig
  /** Browse for members and adopt them (`discovery_method: mdns`). */
  browse: boolean
  /** This server's instance id: announced, and how it skips itself when browsing. */
  instanceId: string
  /** The port this server listens on (announced). */
  port: number
  /** NODEPULSE_PUBLIC_URL, announced as `url` so aggregators use it instead of the packet's address. */
  publicUrl?: string
}

/** A name an mDNS announcement may give, made a valid member name (letters, digits, ".", "-", "_"; 64 at most). */
export function memberNameFrom(text: string): string {
  return text.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64) || 'member'
}

/** The member URL of an announcement: its `url` TXT, else http://<IPv4 address>:<port><api path without /api>. */
export function memberUrlFrom(service: Pick<Service, 'addresses' | 'referer' | 'port' | 'txt'>): string | null {
  const txt = (service.txt ?? {}) as Record<string, unknown>
  if (typeof txt.url === 'string' && URL.canParse(txt.url) && /^https?:$/.test(new URL(txt.url).protocol)) return txt.url.replace(/\/+$/, '')
  const ipv4 = service.addresses?.find(a => /^\d{1,3}(\.\d{1,3}){3}$/.test(a)) ?? (service.referer?.family === 'IPv4' ? service.referer.address : undefined)
  if (!ipv4 || !service.port) return null
  const api = typeof txt.api === 'string' && txt.api.startsWith('/') ? txt.api.replace(/\/+$/, '') : '/api'
  return `http://${ipv4}:${service.port}${api.replace(/\/api$/, '')}`
}

/**
 * mDNS for seed 003 (bonjour-service): announces this server as `_nodepulse._tcp` (TXT `id` = its
 * instance id, `name`, `api` = the member API's path) when `mdns.announce` is set, and with
 * `discovery_method: mdns` browses for others and adds each as a member (`origin: mdns`) once a token
 * is configured for it (`mdns.tokens[name]`, else `mdns.token`); until then it is listed as found
 * without a token and not polled. The socket binds where `mdns.interface` says (all interfaces when unset).
 */
export function createDiscovery(members: Members, opts: DiscoveryOptions) {
  const { mdns } = opts
  const found = new Map<string, DiscoveredMemberView>()
  let bonjour: Bonjour | null = null
  let browser: Browser | null = null
  let requery: ReturnType<typeof setInterval> | undefined
  let warned = false
  const warn = (what: string, error: unknown) => {
    if (warned) return
    warned = true
    console.warn(`[nodepulse] mDNS ${what}: ${error instanceof Error ? error.message : String(error)}`)
  }

  async function adopt(service: Service): Promise<void> {
    const txt = (service.txt ?? {}) as Record<string, unknown>
    const instance = typeof txt.id === 'string' ? txt.id.slice(0, 64) : null
    if (instance === opts.instanceId) return
    const name = memberNameFrom(typeof txt.name === 'string' && txt.name ? txt.name : service.name)
    const url = memberUrlFrom(service)
    const key = instance ?? `${name}@${url}`
    const entry: DiscoveredMemberView = { name, url, instance, service: service.name, found_at: new Date().toISOString(), state: 'no_token', member_id: null, message: null }
    found.set(key, entry)
    if (!url) {
      Object.assign(entry, { state: 'unusable', message: 'the announcement carries no IPv4 address or port' })
      return
    }
    const token = mdns.tokens[name] ?? (instance ? mdns.tokens[instance] : undefined) ?? mdns.token
    if (!token) {
      entry.message = `configure a token for it (cluster.mdns.tokens.${name} or cluster.mdns.token) to poll it`
      return
    }
    const result = await members.adopt({ name, url, token })
    Object.assign(entry, result.adopted
      ? { state: 'member', member_id: result.id, message: result.name === name ? null : `polled as member ${result.name}, which has its URL` }
      : { state: 'name_taken', member_id: result.id, message: `a member named ${name} was configured by hand at another URL (${result.url}); it is left alone` })
  }

  return {
    /** Opens the mDNS socket, announces and browses as configured; errors are logged, never thrown. */
    start(version: string): void {
      if (!mdns.announce && !opts.browse) return
      try {
        // bind 0.0.0.0: a socket bound to the interface's own address would not receive multicast.
        const socketOptions = mdns.interface ? { interface: mdns.interface, bind: '0.0.0.0' } : {}
        bonjour = new Bonjour(socketOptions as never, (error: unknown) => warn('failed', error))
        // bonjour-service leaves the socket's 'error' (port taken, no permission) unheard, which would crash the server.
        const socket = (bonjour as unknown as { server?: { mdns?: NodeJS.EventEmitter } }).server?.mdns
        socket?.on('error', (error: unknown) => warn('socket failed', error))
        if (mdns.announce) {
          const txt: Record<string, string> = { id: opts.instanceId, name: mdns.name, api: '/api', version }
          if (opts.publicUrl) txt.url = opts.publicUrl
          bonjour.publish({ name: mdns.name, type: MDNS_TYPE, port: opts.port, txt, disableIPv6: true })
        }
        if (opts.browse) {
          browser = bonjour.find({ type: MDNS_TYPE }, service => void adopt(service).catch(error => console.error('[nodepulse] adding a member found by mDNS failed:', error)))
          requery = setInterval(() => browser?.update(), REQUERY_MS)
          requery.unref()
        }
      }
      catch (error) {
        warn('could not start', error)
      }
    },

    /** What browsing found, newest first: members added, and those waiting for a token. */
    discovered: (): DiscoveredMemberView[] => [...found.values()].sort((a, b) => (a.found_at < b.found_at ? 1 : -1)),

    /** Says goodbye on the network (announced services) and closes the socket. */
    async stop(): Promise<void> {
      clearInterval(requery)
      browser?.stop()
      const b = bonjour
      bonjour = null
      if (!b) return
      await new Promise<void>((done) => {
        const timer = setTimeout(done, 2000)
        b.unpublishAll(() => b.destroy(() => {
          clearTimeout(timer)
          done()
        }))
      })
    },
  }
}

export type Discovery = ReturnType<typeof createDiscovery>

const running = startedInstance<Discovery>()
/** The running mDNS discovery (503 until start-up has finished). */
export const useDiscovery = running.use
/** Publishes the running mDNS discovery (start-up) or withdraws it (stop). */
export const setDiscovery = running.set
