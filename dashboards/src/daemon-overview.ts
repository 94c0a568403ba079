/**
 * The daemon's stream and face dashboard, written as code. `npm run dashboards` writes
 * dashboards/daemon-overview.json; tests check every metric it queries exists and returns data.
 */
import { MetricNames as N } from '../../src/observability/metric-names.js';
import { quantile, rate, type DashboardSpec, type Panel } from './panel.js';

const p95 = (m: string, by = 'stream'): string => quantile(0.95, m, by);

const panels: readonly Panel[] = [
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
  // Faces seen per second are va_faces_per_frame's sum; a face failing two thresholds counts under both reasons.
  { title: 'Gated faces: share kept out of affect analysis, by reason', type: 'timeseries', unit: 'percentunit', exprs: [
    { expr: `sum by (stream, reason) (rate(${N.facesGated}[1m])) / on (stream) group_left sum by (stream) (rate(${N.facesPerFrame}_sum[1m]))`, legend: '{{reason}} {{stream}}' },
  ] },
  { title: 'Blinks per minute per tracked face (eye-mesh geometry, not AU45)', type: 'timeseries', unit: 'short', exprs: [
    { expr: `60 * sum by (stream) (rate(${N.blinks}[5m])) / sum by (stream) (${N.activeTracks})`, legend: '{{stream}}' },
  ] },
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

export const overviewDashboard: DashboardSpec = { uid: 'affect-daemon-overview', title: 'Affect daemon: streams and faces', panels };
