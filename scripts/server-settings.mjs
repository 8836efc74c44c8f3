// How the server process is started (`npm start`, and the benchmarks, so they measure the same
// process). Both settings must be given at process start: V8 and glibc read them only then.
// BENCHMARKS.md ("Idle footprint") has the figures.

/**
 * Young-generation semi-spaces of 2 MB instead of V8's 16 MB: the server's short-lived garbage
 * (requests, samples, stream messages) is small, and each idle semi-space page stays resident.
 */
export const SERVER_NODE_ARGS = ['--max-semi-space-size=2']

/**
 * Two malloc arenas instead of glibc's eight per core: every libuv and V8 helper thread that
 * allocates otherwise gets an arena of its own, each holding a few MB that are never returned.
 */
export const SERVER_ENV = { MALLOC_ARENA_MAX: '2' }
