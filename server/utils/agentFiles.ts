import type { H3Event } from 'h3'
import { createAgentFiles, type AgentFileName, type AgentFiles } from '../services/agentFiles'

let files: AgentFiles | undefined

/** The agent files in the server bundle (Nitro server assets `agent`, built from dist/agent/). */
export function useAgentFiles(): AgentFiles {
  files ??= createAgentFiles(async (name) => {
    const raw = await useStorage('assets:agent').getItemRaw(name)
    if (raw === null || raw === undefined) return undefined
    return typeof raw === 'string' ? Buffer.from(raw, 'utf8') : Buffer.from(raw as Uint8Array)
  }, useRuntimeConfig().public.version)
  return files
}

/** Answers GET or HEAD of an agent file with its type, an ETag of its hash (304 when unchanged) and revalidation on every use. */
export async function serveAgentFile(event: H3Event, name: AgentFileName, missing: string): Promise<Buffer | null> {
  assertMethod(event, ['GET', 'HEAD'], true)
  const file = await useAgentFiles().file(name)
  if (!file) throw createError({ statusCode: 404, message: missing })
  const etag = `"${file.sha256.slice(0, 32)}"`
  setResponseHeaders(event, { 'content-type': file.contentType, 'etag': etag, 'cache-control': 'no-cache', 'content-length': file.body.length })
  if (getRequestHeader(event, 'if-none-match') === etag) {
    setResponseStatus(event, 304)
    return null
  }
  // Node leaves the body out of an answer to HEAD by itself.
  return file.body
}
