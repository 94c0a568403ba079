import { z } from 'zod';
import { streamSchema } from '../config/schema.js';

/** POST /v1/streams body: the config's stream schema, strict (unknown fields are errors). */
export const createStreamPayload = streamSchema;

export type CreateStreamPayload = z.infer<typeof createStreamPayload>;

/** First problem, with the field it concerns, for a 400 answer. */
export function firstProblem(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  if (!issue) return { field: '(body)', message: 'invalid payload' };
  if (issue.code === 'unrecognized_keys') {
    return { field: issue.keys.join(','), message: `unknown field(s): ${issue.keys.join(', ')}` };
  }
  const field = issue.path.length ? issue.path.join('.') : '(body)';
  return { field, message: `${field}: ${issue.message}` };
}
