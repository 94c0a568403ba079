import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../src/observability/metrics.js';
import { dashboard, panels } from './src/daemon-overview.js';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('dashboards', () => {
  it('query only metrics the daemon exports', async () => {
    const metrics = createMetrics(new Registry(), { tensorCount: () => 0 });
    const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
    const queried = new Set(panels.flatMap((p) => p.exprs.flatMap((e) => [...e.expr.matchAll(/\b((?:va|nodejs|process)_[a-z0-9_]+)/g)].map((m) => m[1]!))));
    expect(queried.size).toBeGreaterThan(5);
    for (const name of queried) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      expect(exported.has(name) || exported.has(base), name).toBe(true);
    }
  });

  it('the committed JSON is the generated one (run `npm run dashboards`)', () => {
    const committed = JSON.parse(readFileSync(path.join(here, 'daemon-overview.json'), 'utf8')) as unknown;
    expect(committed).toEqual(dashboard());
  });
});
