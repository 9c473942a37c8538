/** Priority classes: each gets its own queue, with its own rate limits, on both runtimes. */
export const PRIORITY_CLASSES = ['high', 'normal', 'low', 'batch'] as const;
export type PriorityClass = (typeof PRIORITY_CLASSES)[number];
