import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { dashboard } from './daemon-overview.js';

// Run from the package root by `npm run dashboards`.
const out = path.resolve('dashboards', 'daemon-overview.json');
writeFileSync(out, JSON.stringify(dashboard(), null, 2) + '\n');
console.log(`wrote ${out}`);
