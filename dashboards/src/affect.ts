/**
 * The affect side of the daemon as a Grafana dashboard: inference latency and batch size per
 * stage and model, queue depth, load shedding, affect events and end-to-end latency per stream,
 * uncertainty (members' disagreement, entropy) and baseline states per stream.
 * `npm run dashboards` writes dashboards/daemon-affect.json.
 */
import { MetricNames as N } from '../../src/observability/metric-names.js';
import { mean, quantile, rate, type DashboardSpec } from './panel.js';

const S = '{stream=~"$stream"}';
const M = '{model=~"$model"}';

export const affectDashboard: DashboardSpec = {
  uid: 'affect-daemon-affect',
  title: 'Affect daemon: affect models',
  variables: [
    { name: 'stream', metric: N.streamState, label: 'stream' },
    { name: 'model', metric: `${N.inferenceDuration}_count`, label: 'model' },
  ],
  panels: [
    { title: 'Affect events per second', type: 'timeseries', unit: 'ops', exprs: [{ expr: rate(N.affectEvents, 'stream', S), legend: '{{stream}}' }] },
    { title: 'End-to-end latency (decode → publish)', type: 'timeseries', unit: 's', exprs: [
      { expr: quantile(0.5, N.endToEndLatency, 'stream', S), legend: 'p50 {{stream}}' },
      { expr: quantile(0.95, N.endToEndLatency, 'stream', S), legend: 'p95 {{stream}}' },
      { expr: quantile(0.99, N.endToEndLatency, 'stream', S), legend: 'p99 {{stream}}' },
    ] },
    { title: 'Inference latency per batch', type: 'timeseries', unit: 's', exprs: [
      { expr: quantile(0.5, N.inferenceDuration, 'model, backend, stage', M), legend: 'p50 {{stage}} {{model}} ({{backend}})' },
      { expr: quantile(0.95, N.inferenceDuration, 'model, backend, stage', M), legend: 'p95 {{stage}} {{model}} ({{backend}})' },
    ] },
    { title: 'Inference batch size (mean)', type: 'timeseries', unit: 'short', exprs: [
      { expr: mean(N.inferenceBatchSize, 'model, stage', M), legend: '{{stage}} {{model}}' },
    ] },
    { title: 'Inference batches per second', type: 'timeseries', unit: 'ops', exprs: [
      { expr: `sum by (model, stage) (rate(${N.inferenceBatchSize}_count${M}[1m]))`, legend: '{{stage}} {{model}}' },
    ] },
    { title: 'Inference queue depth', type: 'timeseries', unit: 'short', exprs: [{ expr: `max by (stage) (${N.inferenceQueueDepth})`, legend: '{{stage}}' }] },
    { title: 'Shed under load (faces and windows per second)', type: 'timeseries', unit: 'ops', exprs: [
      { expr: rate(N.affectFramesDropped, 'stream', S), legend: 'faces {{stream}}' },
      { expr: rate(N.windowsDropped, 'stream', S), legend: 'windows {{stream}}' },
    ] },
    { title: 'Analysed frames vs affect events', type: 'timeseries', unit: 'ops', exprs: [
      { expr: rate(N.framesAnalysed, 'stream', S), legend: 'frames {{stream}}' },
      { expr: rate(N.affectEvents, 'stream', S), legend: 'events {{stream}}' },
    ] },
    { title: "Uncertainty: members' disagreement and entropy (mean per stream)", type: 'timeseries', unit: 'percentunit', exprs: [
      { expr: mean(N.affectUncertainty, 'stream, measure', S), legend: '{{measure}} {{stream}}' },
    ] },
    { title: 'Uncertainty: p95 of expression entropy and AU spread', type: 'timeseries', unit: 'percentunit', exprs: [
      { expr: quantile(0.95, N.affectUncertainty, 'stream, measure', '{stream=~"$stream",measure!="expr_agreement"}'), legend: 'p95 {{measure}} {{stream}}' },
    ] },
    { title: 'Affect events by baseline state (per second)', type: 'timeseries', unit: 'ops', exprs: [
      { expr: rate(N.affectBaselineFrames, 'stream, state', S), legend: '{{state}} {{stream}}' },
    ] },
    { title: 'Active tracks', type: 'timeseries', unit: 'short', exprs: [{ expr: `sum by (stream) (${N.activeTracks}${S})`, legend: '{{stream}}' }] },
    { title: 'Tensors alive', type: 'timeseries', unit: 'short', exprs: [{ expr: N.tensorsAlive, legend: 'TF.js tensors' }] },
  ],
};
