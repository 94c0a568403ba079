/**
 * The HTTP contract as a client sees it: answers of a real daemon checked against the committed
 * docs/api/openapi.json (not the code that writes it), so a handler that answers a shape, status
 * or content type the document does not name fails the test that asked.
 *
 * `checkedFetch` is a drop-in for fetch (`import { checkedFetch as fetch }`): it reads a clone of
 * the answer, checks it, and throws an HttpContractError naming the operation, the status and the
 * paths that broke, before the test sees the response.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import { repoRoot } from './media.js';

type Json = Record<string, unknown>;
interface ResponseDoc {
  readonly content?: Record<string, { readonly schema?: Json }>;
}
interface Operation {
  readonly responses: Record<string, ResponseDoc>;
}

export class HttpContractError extends Error {
  override readonly name = 'HttpContractError';
}

let loaded: { readonly doc: Json; readonly ajv: Ajv2020; readonly routes: readonly { readonly template: string; readonly pattern: RegExp }[] } | undefined;
const compiled = new Map<string, ValidateFunction>();

function documentAndAjv(): NonNullable<typeof loaded> {
  if (!loaded) {
    const doc = JSON.parse(readFileSync(path.join(repoRoot, 'docs', 'api', 'openapi.json'), 'utf8')) as Json;
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    formats.default(ajv);
    // The components once, under the document's own URI, so `#/components/schemas/X` resolves.
    ajv.addSchema({ $id: 'urn:affect-daemon:openapi', components: doc.components }, 'urn:affect-daemon:openapi');
    const routes = Object.keys(doc.paths as Json).map((template) => ({
      template,
      pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`),
    }));
    loaded = { doc, ajv, routes };
  }
  return loaded;
}

/** `$ref: '#/components/…'` → the components' schema, wherever it is nested. */
function rebase(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(rebase);
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/components/') ? `urn:affect-daemon:openapi${v}` : rebase(v)]),
  );
}

const where = (p: string): string => (p === '' ? '(root)' : p);
const describeError = (e: ErrorObject): string =>
  `${where(e.instancePath)}: ${e.message ?? 'invalid'} (${e.keyword}${e.keyword === 'additionalProperties' ? `: ${String((e.params as { additionalProperty?: unknown }).additionalProperty)}` : ''})`;

/**
 * Checks one answer: its route and method are in the document, its status is one the operation
 * names, its content type one that response names, and a JSON body validates against its schema.
 * `body` is the text of the body (undefined for HEAD or 204).
 */
export function checkAnswer(method: string, pathname: string, status: number, contentType: string | null, body: string | undefined): void {
  const { doc, ajv, routes } = documentAndAjv();
  const m = method.toLowerCase();
  const route = routes.find((r) => r.pattern.test(pathname));
  const name = `${method.toUpperCase()} ${route?.template ?? pathname} → ${status}`;
  const op = route ? ((doc.paths as Json)[route.template] as Record<string, Operation | undefined>)[m] : undefined;
  if (!op) {
    // A path or method the document does not name can only be refused, with the error envelope,
    // by the checks every request passes (target, Host, token, Origin, route, method).
    const refusal = REFUSALS_OUTSIDE_THE_DOCUMENT.includes(status);
    if (!refusal) throw new HttpContractError(`${name}: ${route ? 'the method is not in the document for this path' : 'the path is in no route of docs/api/openapi.json'}`);
    return checkBody(name, `refusal ${status}`, ajv, { $ref: '#/components/schemas/Error' }, body);
  }
  const response = op.responses[String(status)];
  if (!response) throw new HttpContractError(`${name}: the status is not in the document (documented: ${Object.keys(op.responses).join(', ')})`);
  if (response.content === undefined || body === undefined || body === '') {
    if (response.content !== undefined && m !== 'head' && body !== undefined && body.length === 0 && status !== 204) {
      throw new HttpContractError(`${name}: an empty body where the document names ${Object.keys(response.content).join(', ')}`);
    }
    return;
  }
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const media = response.content[type];
  if (!media) throw new HttpContractError(`${name}: content type ${JSON.stringify(type)} is not in the document (documented: ${Object.keys(response.content).join(', ')})`);
  if (type !== 'application/json' || media.schema === undefined) return;
  checkBody(name, `${m} ${route!.template} ${status}`, ajv, media.schema, body);
}

/** What the server answers for a path or method outside the document (400 target, 401, 403, 404, 405). */
const REFUSALS_OUTSIDE_THE_DOCUMENT: readonly number[] = [400, 401, 403, 404, 405];

function checkBody(name: string, key: string, ajv: Ajv2020, schema: Json, body: string | undefined): void {
  if (body === undefined) return;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new HttpContractError(`${name}: the body is not JSON: ${JSON.stringify(body.slice(0, 200))}`);
  }
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile(rebase(schema) as Json);
    compiled.set(key, validate);
  }
  if (!validate(value)) {
    throw new HttpContractError(`${name}: ${(validate.errors ?? []).map(describeError).join('; ')}\n  in ${body.slice(0, 400)}`);
  }
}

/** fetch, with the answer checked against the document before it is returned. */
export async function checkedFetch(input: string | URL, init?: RequestInit): Promise<Response> {
  const res = await fetch(input, init);
  const url = new URL(typeof input === 'string' ? input : input.href);
  const method = init?.method ?? 'GET';
  const body = method.toUpperCase() === 'HEAD' ? undefined : await res.clone().text();
  checkAnswer(method, url.pathname, res.status, res.headers.get('content-type'), body);
  return res;
}
