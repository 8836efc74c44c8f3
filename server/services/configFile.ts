import { readFileSync } from 'node:fs'
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml'
import type { z } from 'zod'

/** The YAML file NODEPULSE_CONFIG names: its text and how messages name it. */
export interface ConfigFile { text: string, name: string }

/** Reads the file NODEPULSE_CONFIG names (none when unset); an unreadable file stops start-up with a message. */
export function readConfigFile(path: string | undefined): ConfigFile | null {
  if (!path) return null
  try {
    return { text: readFileSync(path, 'utf8'), name: `NODEPULSE_CONFIG ${path}` }
  }
  catch (error) {
    throw new Error(`NODEPULSE_CONFIG=${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
}

/** "line N" of the node at `path` (or of its closest parent that exists). */
function lineOf(doc: Document, lines: LineCounter, path: (string | number)[]): number | null {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true)
    if ((isScalar(node) || isMap(node) || isSeq(node)) && node.range) return lines.linePos(node.range[0]).line
  }
  return null
}

/**
 * Parses the YAML `text` and validates it with `schema` (each section of the file has its own
 * schema and ignores the others). A syntax error or a bad value throws a message naming the file,
 * the line and the field, e.g. `… line 3, cluster.request_timeout: must be a number of seconds`.
 */
export function parseConfigFile<T extends z.ZodType>(text: string, file: string, schema: T): z.output<T> {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  const [syntax] = doc.errors
  if (syntax) {
    const at = lines.linePos(syntax.pos[0])
    throw new Error(`${file} line ${at.line}, column ${at.col}: ${syntax.message.split('\n')[0]}`)
  }
  const result = schema.safeParse(doc.toJS() ?? {})
  if (result.success) return result.data
  const issue = result.error.issues[0]!
  const unknown = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined
  const path = [...issue.path.filter((p): p is string | number => typeof p !== 'symbol'), ...(unknown ? [unknown] : [])]
  const line = lineOf(doc, lines, path)
  const field = path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${p}`)).join('') || '(top level)'
  const message = unknown ? 'is not a setting of this section (a typo?)' : issue.message
  throw new Error(`${file}${line ? ` line ${line}` : ''}, ${field}: ${message}`)
}
