import { shellQuote } from './shell'

/** A sample an operator can push by hand to check that a node's token works. */
export const EXAMPLE_SAMPLE = { cpu_percent: 12.5, memory_percent: 40, disk_percent: 51, uptime_seconds: 3600 }

/**
 * The copy-paste curl command that pushes one sample for node `id` with its agent token. `-w '\n'`
 * ends the printed answer with a newline, so the shell's prompt comes back on a line of its own.
 */
export function agentCurlCommand(origin: string, id: number, token: string): string {
  return [
    'curl -X POST', shellQuote(`${origin}/api/v1/nodes/${id}/stats`), '-w', shellQuote('\\n'),
    '-H', shellQuote(`Authorization: Bearer ${token}`),
    '-H', shellQuote('Content-Type: application/json'),
    '-d', shellQuote(JSON.stringify(EXAMPLE_SAMPLE)),
  ].join(' ')
}
