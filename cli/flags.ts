/**
 * What every `nodepulse` command reads the same way: unknown flags (citty accepts anything, so a
 * typo must not be silently ignored) and the token from --token, --token-file or NODEPULSE_TOKEN.
 */
import { readFileSync } from 'node:fs'

/** The flags in `rawArgs` that are not among `args` (long names, camelCase forms, `--no-x` and `--help` allowed). */
export function unknownFlags(args: Record<string, unknown>, rawArgs: string[]): string[] {
  const known = new Set(Object.keys(args).flatMap(k => [k, k.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())]))
  return rawArgs.filter(a => a.startsWith('--') && a !== '--').map(a => a.slice(2).split('=')[0]!.replace(/^no-/, ''))
    .filter(name => !known.has(name) && name !== 'help')
}

const given = (v: string | undefined): v is string => v !== undefined && v !== ''

/**
 * The token from --token (with a warning: `ps` shows it), else --token-file / NODEPULSE_TOKEN_FILE
 * (`/dev/stdin` or `-`: standard input, read once), else NODEPULSE_TOKEN; undefined when none is
 * given. A token file that cannot be read or is empty, or a token with whitespace, is `fail`ed with
 * a message saying which; `what` names the token and the page to copy it from again.
 */
export function readToken(
  flags: { 'token'?: string, 'token-file'?: string },
  env: Record<string, string | undefined>,
  warnings: string[],
  fail: (message: string) => Error,
  what: { name: string, page: string },
  /** The flag and variable names when they are not --token / NODEPULSE_TOKEN (e.g. the agent's --listen-token). */
  names: { flag: string, env: string } = { flag: 'token', env: 'NODEPULSE_TOKEN' },
): string | undefined {
  let token: string | undefined
  const fileEnv = `${names.env}_FILE`
  if (given(flags.token)) {
    token = flags.token
    warnings.push(`--${names.flag} shows in \`ps\` to every user of this host; prefer ${names.env} in the environment or --${names.flag}-file FILE (mode 0600)`)
  }
  else if (given(flags['token-file']) || given(env[fileEnv])) {
    const [file, from] = given(flags['token-file']) ? [flags['token-file'], `--${names.flag}-file`] : [env[fileEnv]!, fileEnv]
    try {
      // /dev/stdin is read from the descriptor itself: opening it anew fails (ENXIO) when stdin is a
      // socket (a pipe from another program may be one) rather than a FIFO. Read once, whatever it is.
      token = readFileSync(file === '/dev/stdin' || file === '-' ? 0 : file, 'utf8').trim()
    }
    catch (error) {
      throw fail(`cannot read the token file ${file} (${from}): ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
    }
    if (!token) throw fail(`the token file ${file} (${from}) is empty`)
  }
  else token = env[names.env] || undefined
  if (token && /\s/.test(token)) throw fail(`the ${what.name} contains whitespace: copy it again from the ${what.page} page`)
  return token
}
