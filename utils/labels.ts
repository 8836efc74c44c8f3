/** Parses "env=prod, rack=r1" (commas or new lines) into labels, or says which entry is malformed. */
export function parseLabels(text: string): { labels: Record<string, string> } | { error: string } {
  const labels: Record<string, string> = {}
  for (const entry of text.split(/[,\n]/).map(s => s.trim()).filter(Boolean)) {
    const eq = entry.indexOf('=')
    if (eq <= 0) return { error: `Label "${entry}" must be written as key=value` }
    labels[entry.slice(0, eq).trim()] = entry.slice(eq + 1).trim()
  }
  return { labels }
}
