import { z } from 'zod';

type Json = Record<string, unknown>;

/**
 * A zod schema as a JSON Schema 2020-12 component of the OpenAPI and AsyncAPI documents. zod's
 * readOnly marks (from `.readonly()`, which gives the types their readonly) say nothing to a client.
 */
export function componentSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const out = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    override: (ctx) => {
      delete (ctx.jsonSchema as { readOnly?: unknown }).readOnly;
    },
  }) as Json;
  delete out.$schema;
  return out;
}
