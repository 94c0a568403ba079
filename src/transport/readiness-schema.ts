import { z } from 'zod';

/**
 * What GET /readyz answers (200 ready, 503 not): the server's Readiness type is inferred from this
 * schema, and the OpenAPI document's Readiness is written from it. `details` is for people; its
 * nested parts that belong to other layers (placements, the model) are open objects here.
 */
export const readinessSchema = z
  .strictObject({
    ready: z.boolean().describe('Every check passes (and the daemon is not shutting down).'),
    checks: z
      .strictObject({
        models: z.boolean().describe('The face models are loaded and every model host is up.'),
        server: z.boolean().describe('The HTTP server is listening.'),
        shuttingDown: z.boolean().describe('The daemon is shutting down (not ready while it is).'),
        cluster: z.boolean().exactOptional().describe('In a cluster: the lease store answers and no twin of this instance runs.'),
      })
      .readonly(),
    details: z
      .strictObject({
        backend: z.string().describe('The TF.js backend of the daemon thread, or `none` before the models load.'),
        modelHosts: z
          .array(
            z
              .strictObject({
                name: z.string(),
                where: z.enum(['thread', 'worker']),
                state: z.enum(['ready', 'restarting', 'closed']),
                restarts: z.int().min(0).describe('Workers started after a crash, since the host opened.'),
                lastError: z.string().exactOptional(),
                restartDelayMs: z.number().min(0).exactOptional().describe('While restarting: the backoff before the next start.'),
              })
              .readonly(),
          )
          .readonly()
          .describe('Every model host (face models, affect model).'),
        placements: z.record(z.string(), z.looseObject({ engine: z.string() }).readonly()).describe('Per model: engine, execution provider, device and why (docs/gpu.md).'),
        affectModel: z
          .union([z.looseObject({ id: z.string(), version: z.string(), kind: z.string() }).readonly(), z.string()])
          .describe('The affect model that runs, or why none does.'),
        streams: z.int().min(0).describe('Streams this daemon runs.'),
        cluster: z
          .strictObject({ instance: z.string(), members: z.array(z.string()).readonly(), owned: z.int().min(0).describe('Cluster streams whose lease this daemon holds.') })
          .readonly()
          .exactOptional(),
        sinks: z
          .array(
            z
              .strictObject({
                name: z.string(),
                kind: z.enum(['mqtt', 'nats', 'redis']),
                connected: z.boolean(),
                buffered: z.int().min(0).describe('Events waiting for the broker.'),
                lagSeconds: z.number().min(0).describe('Age of the oldest event the broker has not acknowledged.'),
                lastError: z.string().exactOptional(),
              })
              .readonly(),
          )
          .readonly()
          .exactOptional(),
      })
      .readonly(),
  })
  .readonly()
  .meta({ title: 'Readiness', description: 'Whether the daemon is ready, which checks pass, and what runs.' });

export type ReadinessAnswer = z.infer<typeof readinessSchema>;
