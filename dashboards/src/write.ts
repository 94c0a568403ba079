import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { dashboards } from './index.js';
import { toGrafana } from './panel.js';

// Run from the package root by `npm run dashboards`.
for (const d of dashboards) {
  const out = path.resolve('dashboards', d.file);
  writeFileSync(out, JSON.stringify(toGrafana(d.spec), null, 2) + '\n');
  console.log(`wrote ${out}`);
}
