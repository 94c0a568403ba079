/**
 * The shape of a dashboard panel as this project writes it, and its Grafana JSON. Dashboards are
 * plain data so a test can check every metric they query (and run every query on a real Prometheus).
 */
export interface Target {
  readonly expr: string;
  readonly legend: string;
}

export interface Panel {
  readonly title: string;
  readonly type: 'timeseries' | 'stat' | 'state-timeline';
  readonly unit: string;
  readonly exprs: readonly Target[];
  /** Panels with `width: 24` span the row; the default is half a row. */
  readonly width?: 12 | 24;
}

export interface Variable {
  readonly name: string;
  /** A label of this metric lists the variable's values (Grafana `label_values`). */
  readonly metric: string;
  readonly label: string;
}

export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly Panel[];
  readonly variables?: readonly Variable[];
}

export const rate = (m: string, by = 'stream', sel = ''): string => `sum by (${by}) (rate(${m}${sel}[1m]))`;
export const quantile = (q: number, m: string, by = 'stream', sel = ''): string =>
  `histogram_quantile(${q}, sum by (le, ${by}) (rate(${m}_bucket${sel}[5m])))`;
export const mean = (m: string, by = 'stream', sel = ''): string => `sum by (${by}) (rate(${m}_sum${sel}[1m])) / sum by (${by}) (rate(${m}_count${sel}[1m]))`;

/** Every PromQL expression of a dashboard. */
export function queries(d: DashboardSpec): string[] {
  return d.panels.flatMap((p) => p.exprs.map((e) => e.expr));
}

export function toGrafana(d: DashboardSpec): Record<string, unknown> {
  let x = 0;
  let y = 0;
  const panels = d.panels.map((p, i) => {
    const w = p.width ?? 12;
    if (x + w > 24) {
      x = 0;
      y += 8;
    }
    const gridPos = { h: 8, w, x, y };
    x += w;
    return {
      id: i + 1,
      title: p.title,
      type: p.type,
      datasource: { type: 'prometheus', uid: '${datasource}' },
      gridPos,
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      targets: p.exprs.map((e, k) => ({ refId: String.fromCharCode(65 + k), expr: e.expr, legendFormat: e.legend })),
    };
  });
  const vars = (d.variables ?? []).map((v) => ({
    name: v.name,
    type: 'query',
    datasource: { type: 'prometheus', uid: '${datasource}' },
    query: { query: `label_values(${v.metric}, ${v.label})`, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    refresh: 2,
    includeAll: true,
    multi: true,
    allValue: '.*',
    current: { text: 'All', value: '$__all' },
  }));
  return {
    title: d.title,
    uid: d.uid,
    schemaVersion: 39,
    time: { from: 'now-1h', to: 'now' },
    refresh: '10s',
    templating: { list: [{ name: 'datasource', type: 'datasource', query: 'prometheus' }, ...vars] },
    panels,
  };
}
