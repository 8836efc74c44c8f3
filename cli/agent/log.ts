/** The agent's log: one line per state change on stderr (journald and cron keep the time). */
export interface Log {
  info: (message: string) => void
  warn: (message: string) => void
}

/** Logs to stderr; `quiet` keeps warnings only. */
export function createLog(opts: { quiet?: boolean, write?: (line: string) => void } = {}): Log {
  const write = opts.write ?? ((line: string) => process.stderr.write(`${line}\n`))
  return {
    info: message => opts.quiet || write(`nodepulse-agent: ${message}`),
    warn: message => write(`nodepulse-agent: ${message}`),
  }
}
