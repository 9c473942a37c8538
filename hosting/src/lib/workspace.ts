/**
 * The workspace Mission Control shows. One for now: the demo `npm start` seeds. When workspaces
 * become selectable this is the one place that changes.
 */
export const WORKSPACE = 'demo';
