import { z } from 'zod'
import { CHANNEL_SETTINGS, type ChannelSettings } from '../../shared/contracts/channels'
import type { WebhookRow } from '../db/schema'
import {
  describeNotice, discordRequest, emailMessage, gotifyRequest, matrixRequest, ntfyRequest, pagerdutyRequest, slackRequest, teamsRequest, telegramRequest, type Notice,
} from './channelFormats'
import {
  describeAttemptError, describeNetworkError, publicAddress, sendHttp, webhookRequest, type AttemptOptions, type HttpRequest, type SendResult, type WebhookPayload,
} from './webhookDelivery'

/** What the dispatcher knows besides the channel and its payload. */
export interface ChannelContext extends AttemptOptions {
  deliveryId: number
  /** The event's node's hostname, when the registry still has the node. */
  nodeName: string | null
  /** NODEPULSE_PUBLIC_URL, for links to the dashboard. */
  publicUrl?: string
}

const failure = (error: string, durationMs = 0): SendResult => ({ ok: false, status: null, error, durationMs })

/** The HTTP request of every type but e-mail; throws when the stored settings do not fit the type. */
function httpRequestOf(hook: WebhookRow, payload: WebhookPayload, n: Notice, deliveryId: number): HttpRequest {
  const url = () => z.string().parse(hook.url)
  const s = hook.settings
  switch (hook.type) {
    case 'slack': return slackRequest(url(), n)
    case 'discord': return discordRequest(url(), n)
    case 'teams': return teamsRequest(url(), n)
    case 'telegram': return telegramRequest(CHANNEL_SETTINGS.telegram.parse(s), n)
    case 'ntfy': return ntfyRequest(CHANNEL_SETTINGS.ntfy.parse(s), n)
    case 'gotify': return gotifyRequest(CHANNEL_SETTINGS.gotify.parse(s), n)
    case 'matrix': return matrixRequest(CHANNEL_SETTINGS.matrix.parse(s), n, deliveryId)
    case 'pagerduty': return pagerdutyRequest(CHANNEL_SETTINGS.pagerduty.parse(s), n, deliveryId)
    default: return webhookRequest(url(), hook.secret, deliveryId, payload)
  }
}

/**
 * Makes one attempt of a delivery over a channel of any type, in its native format. Never throws;
 * a failure's reason is built from codes and statuses only, so it names no token, password or URL.
 */
export async function sendToChannel(hook: WebhookRow, payload: WebhookPayload, c: ChannelContext): Promise<SendResult> {
  const notice = describeNotice(payload, c.nodeName, c.publicUrl)
  let request: HttpRequest | ChannelSettings<'email'>
  try {
    request = hook.type === 'email' ? CHANNEL_SETTINGS.email.parse(hook.settings) : httpRequestOf(hook, payload, notice, c.deliveryId)
  }
  catch {
    return failure(`the channel's ${hook.type} settings are incomplete: edit the channel on the Notifications page (or PATCH /api/v1/webhooks/${hook.id})`)
  }
  return 'url' in request ? sendHttp(request, c) : sendEmail(request, notice, c)
}

/** SMTP failures by nodemailer's code, or the network code under it, never its message (which names the host or echoes the server). */
export function describeSmtpError(error: unknown): string {
  const e = error as { code?: unknown, originalCode?: unknown, responseCode?: unknown }
  const code = String(e.originalCode ?? e.code ?? '')
  const status = typeof e.responseCode === 'number' ? ` (SMTP ${e.responseCode})` : ''
  switch (code) {
    case 'EAUTH': return `the SMTP server refused the user name or password${status}`
    case 'ENOAUTH': return 'the SMTP server asks for a login: set a user and password'
    case 'EENVELOPE': return `the SMTP server refused the sender or a recipient${status}`
    case 'EMESSAGE': return `the SMTP server refused the message${status}`
    case 'ETLS': return 'TLS error: the SMTP server does not offer STARTTLS, or its certificate is not trusted'
    case 'EPROTOCOL': return `the SMTP server answered something unexpected${status}`
    case 'ETIMEDOUT': return 'the SMTP server did not answer in time (NODEPULSE_WEBHOOK_TIMEOUT)'
  }
  return describeNetworkError({ code }).replace('the receiver', 'the SMTP server')
}

/** Sends the notice as an e-mail over SMTP; the server's reply code is the delivery's status. */
async function sendEmail(s: ChannelSettings<'email'>, n: Notice, c: ChannelContext): Promise<SendResult> {
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  const timeout = AbortSignal.timeout(c.timeoutMs)
  const signal = c.signal ? AbortSignal.any([c.signal, timeout]) : timeout
  let host = s.host
  try {
    if (c.blockPrivate) host = await publicAddress(s.host)
  }
  catch (error) {
    return failure(describeNetworkError(error), elapsed())
  }
  // nodemailer is loaded on the first e-mail: a server with no e-mail channel never holds it.
  const { createTransport } = await import('nodemailer')
  const transport = createTransport({
    host, port: s.port, secure: s.tls === 'tls', requireTLS: s.tls === 'starttls', ignoreTLS: s.tls === 'none',
    auth: s.user ? { user: s.user, pass: s.password ?? '' } : undefined,
    // Connecting to the checked address must still verify the certificate for the name.
    tls: host === s.host ? undefined : { servername: s.host },
    connectionTimeout: c.timeoutMs, greetingTimeout: c.timeoutMs, socketTimeout: c.timeoutMs, logger: false, debug: false,
  })
  const stop = () => transport.close()
  signal.addEventListener('abort', stop)
  try {
    const info = await transport.sendMail({ ...emailMessage(s, n), headers: { 'x-nodepulse-delivery': String(c.deliveryId) } })
    const status = Number(/^\d{3}/.exec(String(info.response))?.[0] ?? 250)
    return { ok: true, status, error: null, durationMs: elapsed() }
  }
  catch (error) {
    const reason = signal.aborted ? describeAttemptError(error, timeout, c) : describeSmtpError(error)
    const status = (error as { responseCode?: unknown }).responseCode
    return { ok: false, status: typeof status === 'number' ? status : null, error: reason, durationMs: elapsed() }
  }
  finally {
    signal.removeEventListener('abort', stop)
    transport.close()
  }
}
