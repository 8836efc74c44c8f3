/** `$api`: `$fetch` for the data pages. A 401 there means the session ended: back to the login page. */
export default defineNuxtPlugin(() => {
  const auth = useAuthStore()
  const api = $fetch.create({
    onResponseError({ response }) {
      if (response.status === 401) void auth.requireLogin()
    },
  })
  return { provide: { api } }
})
