/**
 * A real SMTP receiver on 127.0.0.1 (random port) for the e-mail channel's tests, built on
 * smtp-server: it takes one user's login (over plain SMTP, as a relay on a trusted network
 * would) and keeps each message's envelope and raw text.
 */
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'

export interface Mail { from: string, to: string[], user: string | undefined, raw: string }

export interface SmtpReceiver {
  port: number
  mails: Mail[]
  /** Waits until a mail holding `text` has arrived; fails after `ms`. */
  waitFor: (text: string, ms?: number) => Promise<Mail>
  close: () => Promise<void>
}

/** Starts the receiver; a login is accepted only as `user` with `password`. */
export async function startSmtpReceiver(user: string, password: string): Promise<SmtpReceiver> {
  const mails: Mail[] = []
  const server = new SMTPServer({
    secure: false, allowInsecureAuth: true, authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    onAuth(auth, _session, done) {
      if (auth.username === user && auth.password === password) done(null, { user })
      else done(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }))
    },
    onData(stream, session, done) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        const from = session.envelope.mailFrom
        mails.push({ from: from ? from.address : '', to: session.envelope.rcptTo.map(r => r.address), user: typeof session.user === 'string' ? session.user : undefined, raw: Buffer.concat(chunks).toString('utf8') })
        done()
      })
    },
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.server.address() as AddressInfo
  return {
    port,
    mails,
    async waitFor(text, ms = 15_000) {
      const end = Date.now() + ms
      for (;;) {
        const found = mails.find(m => m.raw.includes(text))
        if (found) return found
        if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for a mail with "${text}" (got ${mails.length})`)
        await new Promise(r => setTimeout(r, 25))
      }
    },
    close: () => new Promise<void>(resolve => server.close(() => resolve())),
  }
}
