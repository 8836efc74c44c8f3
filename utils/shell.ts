/** Quotes a word for a POSIX shell (sh, dash, bash, zsh): single quotes, each ' written as '\''. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll('\'', '\'\\\'\'')}'`
}

// Characters no POSIX shell gives a meaning to inside a word (a URL of letters, digits, :/.-_ etc.).
const PLAIN_WORD = /^[\w@%+=:,./-]+$/

/** A word as a shell reads it: bare when it is plain, so commands stay readable; quoted otherwise. */
export function shellWord(word: string): string {
  return PLAIN_WORD.test(word) ? word : shellQuote(word)
}
