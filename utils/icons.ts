/** The line icons of icon buttons: 24 × 24 SVG paths, stroked in the current text colour. */
export const ICON_PATHS = {
  wrench: 'M15 4a5 5 0 0 0-4.6 6.9L4 17.3V20h2.7l6.4-6.4A5 5 0 0 0 20 9l-3 1-2-2 1-3z',
  download: 'M12 4v11M7 10l5 5 5-5M5 20h14',
  key: 'M8 11a4 4 0 1 0 0 8 4 4 0 0 0 0-8zM11 12l8-8M16 7l2 2M14 9l2 2',
  pencil: 'M4 20h4L19 9l-4-4L4 16zM14 6l4 4',
  trash: 'M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13M10 11v6M14 11v6',
  send: 'M4 12 20 4l-6 16-3-7zM11 13l9-9',
  list: 'M9 6h11M9 12h11M9 18h11M4.5 6h.01M4.5 12h.01M4.5 18h.01',
  power: 'M12 3v9M6.3 7.3a8 8 0 1 0 11.4 0',
  menu: 'M4 6h16M4 12h16M4 18h16',
  close: 'M6 6l12 12M18 6 6 18',
  webhook: 'M9 18a3 3 0 1 1-3-3h5l-3-5M15 6a3 3 0 1 1 3 3M18 18a3 3 0 1 1-2.6-4.5L12 8',
  chat: 'M4 5h16v11H9l-5 4z',
  bell: 'M6 16V11a6 6 0 0 1 12 0v5l2 2H4zM10 20a2 2 0 0 0 4 0',
  siren: 'M7 18v-6a5 5 0 0 1 10 0v6M5 18h14v3H5zM12 3v2M4 7l1.5 1.5M20 7l-1.5 1.5',
  mail: 'M3 6h18v12H3zM3 7l9 6 9-6',
  bellOff: 'M6 16v-5a6 6 0 0 1 9.5-4.9M18 11v5l2 2H8M10 21h4M3 3l18 18',
  chevronDown: 'M6 9l6 6 6-6',
} as const
export type IconName = keyof typeof ICON_PATHS
