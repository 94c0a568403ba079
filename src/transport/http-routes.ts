/**
 * The HTTP routes, as one table: the server answers 404 for any path this table does not match
 * and 405 for a method it does not list, and the OpenAPI document (openapi-document.ts) is built
 * over the same table, so a route cannot exist without being documented.
 */
import { ASYNCAPI_PATH, EVENT_SCHEMA_PATH, EVENT_SCHEMA_TEMPLATE } from './asyncapi-document.js';
import { LIVE_PAGE_PATHS } from './static-route.js';

export interface HttpRoute {
  /** OpenAPI path template (`{id}` for a path segment). */
  readonly template: string;
  readonly pattern: RegExp;
  readonly methods: readonly string[];
}

const PROBE = ['GET', 'HEAD'] as const;
const exact = (template: string, methods: readonly string[]): HttpRoute => ({
  template,
  pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&')}$`),
  methods,
});

export const OPENAPI_PATH = '/openapi.json';

export const HTTP_ROUTES: readonly HttpRoute[] = [
  exact('/healthz', PROBE),
  exact('/readyz', PROBE),
  exact('/metrics', PROBE),
  exact(OPENAPI_PATH, PROBE),
  exact(ASYNCAPI_PATH, PROBE),
  { template: EVENT_SCHEMA_TEMPLATE, pattern: EVENT_SCHEMA_PATH, methods: PROBE },
  exact('/v1/streams', ['GET', 'HEAD', 'POST']),
  exact('/v1/cluster', PROBE),
  exact('/v1/events', ['GET']),
  { template: '/v1/streams/{id}', pattern: /^\/v1\/streams\/([^/]+)$/, methods: ['GET', 'HEAD', 'DELETE'] },
  { template: '/v1/streams/{id}/restart', pattern: /^\/v1\/streams\/([^/]+)\/restart$/, methods: ['POST'] },
  { template: '/v1/streams/{id}/tracks/{trackId}/baseline', pattern: /^\/v1\/streams\/([^/]+)\/tracks\/([^/]+)\/baseline$/, methods: ['POST'] },
  { template: '/v1/ingest/{id}', pattern: /^\/v1\/ingest\/([^/]+)$/, methods: ['GET'] },
  { template: '/v1/streams/{id}/snapshot.jpg', pattern: /^\/v1\/streams\/([^/]+)\/snapshot\.jpg$/, methods: PROBE },
  { template: '/v1/streams/{id}/recordings', pattern: /^\/v1\/streams\/([^/]+)\/recordings$/, methods: ['POST'] },
  { template: '/v1/streams/{id}/markers', pattern: /^\/v1\/streams\/([^/]+)\/markers$/, methods: ['POST'] },
  exact('/v1/recordings', PROBE),
  { template: '/v1/recordings/{rid}', pattern: /^\/v1\/recordings\/([^/]+)$/, methods: ['GET', 'HEAD', 'DELETE'] },
  { template: '/v1/recordings/{rid}/stop', pattern: /^\/v1\/recordings\/([^/]+)\/stop$/, methods: ['POST'] },
  { template: '/v1/recordings/{rid}/video', pattern: /^\/v1\/recordings\/([^/]+)\/video$/, methods: PROBE },
  { template: '/v1/recordings/{rid}/events.jsonl', pattern: /^\/v1\/recordings\/([^/]+)\/events\.jsonl$/, methods: PROBE },
  { template: '/v1/recordings/{rid}/events.csv', pattern: /^\/v1\/recordings\/([^/]+)\/events\.csv$/, methods: PROBE },
  ...LIVE_PAGE_PATHS.map((p) => exact(p, PROBE)),
];

/** Methods the route of `path` answers (for 405 + Allow); undefined = no such route. */
export function routeMethods(path: string): readonly string[] | undefined {
  return HTTP_ROUTES.find((r) => r.pattern.test(path))?.methods;
}
