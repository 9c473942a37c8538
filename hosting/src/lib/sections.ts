/** The capabilities of Mission Control, in navigation order. The layout and the pages read this list. */

export interface Section {
  /** The route; also the section's identity. */
  path: '/' | `/${string}`;
  label: string;
  /** One sentence on what the section is for; a section not built yet shows it as its page. */
  summary: string;
}

export const sections = [
  {
    path: '/',
    label: 'Home',
    summary: 'Runtime health and task-queue depth at a glance.',
  },
  {
    path: '/executions',
    label: 'Executions',
    summary: 'Every run of a use case, live: its timeline, checkpoints and errors, with the operator controls.',
  },
  {
    path: '/use-cases',
    label: 'Use cases & Templates',
    summary: 'Use cases and the template library they are made from: install, edit as a graph, and start a run.',
  },
  {
    path: '/pipelines',
    label: 'Data pipelines',
    summary: 'Ingestion pipeline runs and the datasets they publish will be tracked here.',
  },
  {
    path: '/pool',
    label: 'Pool',
    summary:
      'The resource pool, live: utilisation, queue depth, wait times and throttling charted, each workspace’s fair share and budget, and auto-scaling decisions.',
  },
  {
    path: '/events',
    label: 'Events',
    summary: 'The event log, subscriber cursors and dead-lettered deliveries will be inspected and replayed here.',
  },
  {
    path: '/experiments',
    label: 'Experiments',
    summary: 'Tests of use-case variants against each other, and their results, will be run and compared here.',
  },
  {
    path: '/monitoring',
    label: 'Monitoring',
    summary: 'Throughput, latency, error rates and cache hits across all orchestrators will be charted here.',
  },
  {
    path: '/settings',
    label: 'Settings',
    summary: 'The workspace’s members and new workspaces; API keys and secrets will be managed here too.',
  },
] as const satisfies readonly Section[];

export type SectionPath = (typeof sections)[number]['path'];

export function sectionFor(path: SectionPath): Section {
  const section = sections.find((candidate) => candidate.path === path);
  if (!section) throw new Error(`No section for ${path}`);
  return section;
}
