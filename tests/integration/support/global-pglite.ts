import type { TestProject } from 'vitest/node'
import { startServer } from './server'

/** One server on a fresh embedded PGlite database for the whole integration-pglite project. */
export default async function setup(project: TestProject) {
  const server = await startServer({ label: 'pglite' })
  project.provide('server', server.info)
  return server.stop
}
