// The public surface of #lib: what routes import.
export { ApiError, getJson, getQueueStats, getSystemHealth } from './api.ts';
export type { HealthCheck, HealthStatus, Problem, QueueList, QueueStats, RuntimeName, SystemHealth } from './api.ts';
export { formatClockTime, formatCount, formatDuration, formatTimestamp } from './format.ts';
export { POLL_INTERVAL_MS, SystemMonitor } from './health.svelte.ts';
export { type Section, type SectionPath, sectionFor, sections } from './sections.ts';
