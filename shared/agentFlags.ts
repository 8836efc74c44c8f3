/**
 * V8 flags the Node agent runs with, wherever it is started for good (the systemd unit, the
 * foreground command the Nodes page shows). Lite mode (no optimizing compiler, feedback vectors
 * allocated lazily) keeps the agent's resident memory 1–3 MB lower at no measurable CPU cost for a
 * process that works a few milliseconds every interval (BENCHMARKS.md, "Agent footprint");
 * `--no-expose-wasm` says outright what lite mode implies, so V8 prints no warning about it.
 */
export const NODE_AGENT_FLAGS = ['--lite-mode', '--no-expose-wasm'] as const
