/**
 * `$api`: `$fetch` for the data pages. A 401 there means the session ended (expired, user
 * deleted, server restarted with a new secret): forget the user and go to the login page.
 */
export default defineNuxtPlugin((nuxtApp) => {
  const api = $fetch.create({
    onResponseError({ response }) {
      if (response.status !== 401) return
      void nuxtApp.runWithContext(() => {
        useAuthStore().forget()
        const current = useRouter().currentRoute.value.fullPath
        return navigateTo({ path: '/login', query: { redirect: current } })
      })
    },
  })
  return { provide: { api } }
})
