/**
 * The daemon's Grafana dashboard, written as code. `npm run dashboards` writes
 * dashboards/daemon-overview.json; a test checks every metric it queries exists.
 */
import { MetricNames as N } from '../../src/observability/metric-names.js';

interface Panel {
  readonly title: string;
  readonly type: 'timeseries' | 'stat' | 'state-timeline';
  readonly unit: string;
  readonly exprs: readonly { readonly expr: string; readonly legend: string }[];
}

const rate = (m: string): string => `sum by (stream) (rate(${m}[1m]))`;
const p95 = (m: string, by = 'stream'): string => `histogram_quantile(0.95, sum by (le, ${by}) (rate(${m}_bucket[5m])))`;

export const panels: readonly Panel[] = [
  { title: 'Frames decoded / analysed / dropped per second', type: 'timeseries', unit: 'fps', exprs: [
    { expr: rate(N.framesDecoded), legend: 'decoded {{stream}}' },
    { expr: rate(N.framesAnalysed), legend: 'analysed {{stream}}' },
    { expr: rate(N.framesDropped), legend: 'dropped {{stream}}' },
  ] },
  { title: 'Detection latency p95', type: 'timeseries', unit: 's', exprs: [{ expr: p95(N.detectDuration, 'stream, backend'), legend: '{{stream}} ({{backend}})' }] },
  { title: 'Decode latency p95', type: 'timeseries', unit: 's', exprs: [{ expr: p95(N.decodeDuration), legend: '{{stream}}' }] },
  { title: 'Faces per frame (mean)', type: 'timeseries', unit: 'short', exprs: [
    { expr: `sum by (stream) (rate(${N.facesPerFrame}_sum[1m])) / sum by (stream) (rate(${N.facesPerFrame}_count[1m]))`, legend: '{{stream}}' },
  ] },
  { title: 'Active tracks', type: 'timeseries', unit: 'short', exprs: [{ expr: `sum by (stream) (${N.activeTracks})`, legend: '{{stream}}' }] },
  { title: 'Stream state', type: 'state-timeline', unit: 'short', exprs: [{ expr: `${N.streamState} == 1`, legend: '{{stream}}: {{state}}' }] },
  { title: 'Stream failures', type: 'stat', unit: 'short', exprs: [{ expr: `sum by (stream, code) (increase(${N.streamErrors}[1h]))`, legend: '{{stream}} {{code}}' }] },
  { title: 'WebSocket clients and messages', type: 'timeseries', unit: 'short', exprs: [
    { expr: N.wsClients, legend: 'clients' },
    { expr: `sum(rate(${N.wsMessagesSent}[1m]))`, legend: 'sent/s' },
    { expr: `rate(${N.wsMessagesDropped}[1m])`, legend: 'dropped/s' },
  ] },
  { title: 'Event-loop lag and tensors', type: 'timeseries', unit: 'short', exprs: [
    { expr: 'nodejs_eventloop_lag_seconds', legend: 'event-loop lag (s)' },
    { expr: N.tensorsAlive, legend: 'TF.js tensors' },
  ] },
  { title: 'Backend', type: 'stat', unit: 'short', exprs: [{ expr: N.backendInfo, legend: '{{backend}}' }] },
];

export function dashboard(): Record<string, unknown> {
  return {
    title: 'Affect daemon: streams and faces',
    uid: 'affect-daemon-overview',
    schemaVersion: 39,
    time: { from: 'now-1h', to: 'now' },
    refresh: '10s',
    templating: { list: [{ name: 'datasource', type: 'datasource', query: 'prometheus' }] },
    panels: panels.map((p, i) => ({
      id: i + 1,
      title: p.title,
      type: p.type,
      datasource: { type: 'prometheus', uid: '${datasource}' },
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      targets: p.exprs.map((e, k) => ({ refId: String.fromCharCode(65 + k), expr: e.expr, legendFormat: e.legend })),
    })),
  };
}
