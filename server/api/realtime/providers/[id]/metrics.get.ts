// Seed 001's name for the same route: its providers are our nodes.
export { default } from '../../nodes/[id]/metrics.get'
