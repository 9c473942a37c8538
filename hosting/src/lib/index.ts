// The public surface of #lib: what routes import.
export { ApiError, getJson, getQueueStats, getSystemHealth, postJson, toApiError } from './api.ts';
export type {
  HealthCheck,
  HealthStatus,
  Problem,
  ProblemField,
  QueueList,
  QueueStats,
  RuntimeName,
  SystemHealth,
} from './api.ts';
export {
  type ContextChange,
  type ControlAction,
  type Decision,
  EXECUTION_STATUSES,
  type Execution,
  type ExecutionFilter,
  type ExecutionStatus,
  type ExecutionSummary,
  isExecutionStatus,
  isTerminal,
  type RerunResult,
  type StepState,
  type StepStatus,
  type TimelineEntry,
  type UseCase,
} from './executions/api.ts';
export { type ActionKey, type CheckpointRef, DETAIL_POLL_MS, ExecutionDetail } from './executions/detail.svelte.ts';
export { CheckpointComparison } from './executions/diff.svelte.ts';
export { formatJson, type ParsedJson, parseJsonInput } from './executions/json-input.ts';
export { ExecutionList, LIST_PAGE_SIZE, LIST_POLL_MS } from './executions/list.svelte.ts';
export { StepRerun } from './executions/rerun.svelte.ts';
export { UseCaseDirectory } from './executions/use-cases.svelte.ts';
export {
  formatClockTime,
  formatCount,
  formatDuration,
  formatElapsed,
  formatTimestamp,
  fromDateTimeLocal,
  toDateTimeLocal,
} from './format.ts';
export { POLL_INTERVAL_MS, SystemMonitor } from './health.svelte.ts';
export { type Poller, pollWhileVisible } from './polling.ts';
export { type Section, type SectionPath, sectionFor, sections } from './sections.ts';
export { WORKSPACE } from './workspace.ts';
