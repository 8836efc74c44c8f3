import { sql } from 'drizzle-orm'

/** Liveness and readiness for load balancers and operators; 503 when the database does not answer. */
export default defineEventHandler(async (event) => {
  const { database, version, startedAt, isLeader } = await services()
  let databaseOk = true
  try {
    await database.db.execute(sql`select 1`)
  }
  catch {
    databaseOk = false
  }
  setResponseStatus(event, databaseOk ? 200 : 503)
  return {
    status: databaseOk ? 'ok' : 'degraded',
    version,
    database: { ok: databaseOk, driver: database.driver },
    uptime_seconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    // Runs the periodic jobs (retention); with several instances on one Postgres, exactly one does.
    leader: isLeader(),
  }
})
