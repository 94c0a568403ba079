import { z } from 'zod';

/**
 * What GET /v1/cluster answers: the type the coordinator keeps is inferred from this schema, and
 * the OpenAPI document's ClusterView is written from it.
 */
export const clusterViewSchema = z
  .strictObject({
    instance: z.string().describe("This daemon's member id (cluster.instanceId)."),
    members: z
      .array(
        z
          .strictObject({
            id: z.string().describe('Member id.'),
            api: z.string().exactOptional().describe('Where its HTTP API answers (cluster.advertiseUrl), for operators.'),
          })
          .readonly(),
      )
      .readonly()
      .describe('Members whose heartbeat has not lapsed, sorted by id.'),
    streams: z
      .array(
        z
          .strictObject({
            id: z.string().describe('The cluster stream.'),
            owner: z.string().nullable().describe('The member holding its lease; null while nobody does.'),
            fence: z.int().min(0).nullable().describe('The lease fence, growing with every holder; null while nobody holds it.'),
          })
          .readonly(),
      )
      .readonly()
      .describe('Every cluster stream (config streams:), with its owner.'),
    updatedAt: z.iso.datetime().nullable().describe('When the store last answered a round, ISO 8601 UTC; null before the first.'),
    healthy: z.boolean().describe('The lease store answered the last round and no twin of this instance runs.'),
    duplicateInstance: z.boolean().describe('Another live process runs under this instance id (readiness is red meanwhile).'),
  })
  .readonly()
  .meta({ title: 'ClusterView', description: 'The cluster: members, and every stream with its owner and fence.' });

export type ClusterView = z.infer<typeof clusterViewSchema>;
