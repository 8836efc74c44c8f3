import type { Config } from 'tailwindcss'

// Content paths come from @nuxtjs/tailwindcss; this file only sets what differs from the defaults.
export default <Partial<Config>>{
  // Dark mode follows the operating system's setting; there is no in-app switch.
  darkMode: 'media',
}
