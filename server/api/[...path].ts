/** Unknown API paths answer 404 JSON instead of falling through to the page renderer. */
export default defineEventHandler((event) => {
  throw createError({ statusCode: 404, message: `No API route ${event.method} ${event.path.split('?')[0]}` })
})
