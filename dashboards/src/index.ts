import { affectDashboard } from './affect.js';
import { overviewDashboard } from './daemon-overview.js';
import type { DashboardSpec } from './panel.js';

/** Every dashboard and the file it is written to (in dashboards/). */
export const dashboards: readonly { readonly file: string; readonly spec: DashboardSpec }[] = [
  { file: 'daemon-overview.json', spec: overviewDashboard },
  { file: 'daemon-affect.json', spec: affectDashboard },
];
