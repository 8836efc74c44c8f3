/** Whether the first-run setup page is open (no user exists yet). */
export default defineEventHandler(async () => {
  const { auth } = await services()
  return { setup_required: (await auth.countUsers()) === 0 }
})
