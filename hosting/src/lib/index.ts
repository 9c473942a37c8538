// The public surface of #lib: what routes import.
export { ApiError, api, getQueueStats, getSystemHealth, toApiError } from './api.ts';
export type { HealthStatus, ProblemField, QueueList, QueueStats, SystemHealth } from './api.ts';
export {
  type ChartPoint,
  type ChartSeries,
  SERIES_COLORS,
  seriesColor,
} from './charts.ts';
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
export {
  PRIORITIES,
  type PoolLimits,
  type PoolStats,
  type Priority,
  type ScalingDecision,
  type ScalingDecisions,
  type Throttling,
  type WaitStats,
  type WorkspacePoolSettings,
  type WorkspaceShare,
} from './pool/api.ts';
export { HISTORY_WINDOW_MS, type PoolSample, pointsOf, throttleEventsBetween } from './pool/history.ts';
export { type AgentKindLimit, agentKindLimits } from './pool/limits.ts';
export { DECISIONS_SHOWN, POOL_POLL_MS, PoolMonitor } from './pool/monitor.svelte.ts';
export { WorkspaceSettingsEditor } from './pool/settings.svelte.ts';
export { type SettingsDraft, type SettingsField, settingsBody } from './pool/settings-draft.ts';
export { type QueueTotals, queueTotals } from './queues.ts';
export { type Section, type SectionPath, sectionFor, sections } from './sections.ts';
export {
  type AuthMode,
  type Invitation,
  type InviteResult,
  isRole,
  type Member,
  ROLES,
  type Role,
  roleAtLeast,
  type SessionUser,
  type Workspace,
  type WorkspaceSummary,
} from './identity/api.ts';
export { MemberDirectory } from './identity/members.svelte.ts';
export { session } from './session.svelte.ts';
export type {
  AgentKind,
  ArchivedFilter,
  Change,
  LibraryFilter,
  TemplateDetail,
  TemplateSample,
  TemplateSummary,
  TemplateVariable,
  TemplateVersion,
} from './use-cases/api.ts';
export { AgentKinds } from './use-cases/agents.svelte.ts';
export { type EditOutcome, UseCaseEditor } from './use-cases/editor.svelte.ts';
export { TemplateLibrary } from './use-cases/library.svelte.ts';
export { RunStarter } from './use-cases/run.svelte.ts';
export { TemplateView } from './use-cases/template.svelte.ts';
export { UseCaseView } from './use-cases/use-case.svelte.ts';
export { DRY_RUN_DELAY_MS, ID_KEY, NAME_KEY, TemplateWizard } from './use-cases/wizard.svelte.ts';
export { WORKSPACE_PARAM, withWorkspace } from './workspace.ts';
export { workspaces } from './workspace.svelte.ts';
