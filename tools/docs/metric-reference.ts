// The metrics reference, read off the daemon's own definitions: createMetrics() on a fresh
// registry, every va_ metric with its type, labels and help text. A name in metric-names.ts that no
// definition registers stops the generator.
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { MetricNames } from '../../src/observability/metric-names.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { cell, code, table } from './markdown.js';

type Defined = Counter | Gauge | Histogram | Summary;

function typeOf(m: unknown): string {
  if (m instanceof Counter) return 'counter';
  if (m instanceof Gauge) return 'gauge';
  if (m instanceof Histogram) return 'histogram';
  if (m instanceof Summary) return 'summary';
  throw new Error('metrics reference: a metric of unknown type');
}

function labelsOf(m: Defined): readonly string[] {
  // prom-client keeps the configured label names on the instance without typing them.
  const names: unknown = Reflect.get(m, 'labelNames');
  return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [];
}

export function metricsTable(): string {
  const registry = new Registry();
  createMetrics(registry);
  const ours = registry.getMetricsAsArray().filter((m) => m.name.startsWith('va_'));
  const registered = new Set(ours.map((m) => m.name));
  const unregistered = Object.values(MetricNames).filter((n) => !registered.has(n));
  if (unregistered.length > 0) throw new Error(`metrics: in metric-names.ts but never defined: ${unregistered.join(', ')}`);
  const rows = ours
    .map((m) => {
      const defined = m as unknown as Defined;
      return [code(m.name), typeOf(defined), labelsOf(defined).map(code).join(', ') || '—', cell(m.help)];
    })
    .sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
  registry.clear();
  return table(['metric', 'type', 'labels', 'help'], rows);
}
