import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import type { TestProject } from 'vitest/node'
import { startServer } from './server'

/**
 * One server for the whole integration-postgres project, on a database created for this run
 * (`np_test_<random>` on TEST_DATABASE_URL) and dropped afterwards.
 */
export default async function setup(project: TestProject) {
  const adminUrl = process.env.TEST_DATABASE_URL
  if (!adminUrl) throw new Error('integration-postgres needs TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres)')
  const name = `np_test_${randomBytes(6).toString('hex')}`
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`create database ${name}`)
  }
  catch (error) {
    await admin.end({ timeout: 5 })
    throw new Error(`Could not create the test database on TEST_DATABASE_URL: ${(error as Error).message}`)
  }
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  const drop = async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`)
    await admin.end({ timeout: 5 })
  }

  let server
  try {
    server = await startServer({ label: 'postgres', databaseUrl: url.toString() })
  }
  catch (error) {
    await drop()
    throw error
  }
  project.provide('server', server.info)
  return async () => {
    await server.stop()
    await drop()
  }
}
