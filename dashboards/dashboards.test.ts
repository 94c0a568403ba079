import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createMetrics } from '../src/observability/metrics.js';
import { MetricNames } from '../src/observability/metric-names.js';
import { dashboards } from './src/index.js';
import { queries, toGrafana } from './src/panel.js';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('dashboards', () => {
  it.each(dashboards.map((d) => [d.file, d.spec] as const))('%s queries only metrics the daemon exports', async (_file, spec) => {
    const metrics = createMetrics(new Registry(), { tensorCount: () => 0 });
    const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
    const named = new Set<string>(Object.values(MetricNames));
    const queried = new Set(queries(spec).flatMap((q) => [...q.matchAll(/\b((?:va|nodejs|process)_[a-z0-9_]+)/g)].map((m) => m[1]!)));
    expect(queried.size).toBeGreaterThan(3);
    for (const name of queried) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      expect(exported.has(name) || exported.has(base), name).toBe(true);
      if (name.startsWith('va_')) expect(named.has(base) || named.has(name), `${name} in metric-names.ts`).toBe(true);
    }
  });

  it.each(dashboards.map((d) => [d.file, d.spec] as const))('the committed %s is the generated one (run `npm run dashboards`)', (file, spec) => {
    const committed = JSON.parse(readFileSync(path.join(here, file), 'utf8')) as unknown;
    expect(committed).toEqual(toGrafana(spec));
  });

  it('the affect dashboard covers every affect metric', () => {
    const affect = dashboards.find((d) => d.file === 'daemon-affect.json')!.spec;
    const text = queries(affect).join('\n');
    for (const m of ['inferenceDuration', 'inferenceBatchSize', 'inferenceQueueDepth', 'windowsDropped', 'affectFramesDropped', 'affectEvents', 'endToEndLatency'] as const) {
      expect(text, m).toContain(MetricNames[m]);
    }
  });

  it('the provisioning files point Grafana at the committed dashboards', () => {
    const provider = parseYaml(readFileSync(path.join(here, 'provisioning', 'dashboards', 'affect-daemon.yaml'), 'utf8')) as {
      apiVersion: number;
      providers: { options: { path: string } }[];
    };
    expect(provider.apiVersion).toBe(1);
    expect(provider.providers[0]?.options.path).toBe('/var/lib/grafana/dashboards/affect-daemon');
    const ds = parseYaml(readFileSync(path.join(here, 'provisioning', 'datasources', 'prometheus.yaml'), 'utf8')) as {
      datasources: { type: string; url: string; isDefault: boolean }[];
    };
    expect(ds.datasources[0]).toMatchObject({ type: 'prometheus', isDefault: true });
  });
});
