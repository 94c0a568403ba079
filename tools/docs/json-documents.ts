// The machine-readable contracts, written whole by `npm run docs`: a JSON Schema per event type
// (docs/api/events/, from the zod schemas the TypeScript types are inferred from) and the config
// schemas editors check YAML against (config/schema.json, config/train.schema.json). The daemon
// config's keys carry the meanings of docs/configuration.md, so an editor shows them on hover.
import { z } from 'zod';
import { configSchema } from '../../src/config/schema.js';
import { eventJsonSchema } from '../../src/core/event-schemas.js';
import { EVENT_TYPES } from '../../src/core/records.js';
import { HTTP_ROUTES } from '../../src/transport/http-routes.js';
import { asyncApiDocument } from '../../src/transport/asyncapi-document.js';
import { openApiDocument } from '../../src/transport/openapi-document.js';
import { trainConfigSchema } from '../../src/train/config.js';
import { CONFIG_MEANINGS, SINK_MEANINGS, STREAM_MEANINGS } from './config-meanings.js';

export interface JsonDocument {
  /** Relative to the repository root. */
  readonly file: string;
  readonly content: string;
}

type Node = Record<string, unknown>;

const asNode = (v: unknown): Node | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Node) : undefined);

/** Sets `description` on every key that has a meaning, at any depth (through nullable branches). */
function describeKeys(s: Node, prefix: string, meanings: Readonly<Record<string, string>>): void {
  const branches = [s, ...((s.anyOf ?? s.oneOf ?? []) as unknown[]).map(asNode).filter((b) => b !== undefined)];
  for (const b of branches) {
    for (const [name, child] of Object.entries(asNode(b.properties) ?? {})) {
      const node = asNode(child);
      if (!node) continue;
      const key = prefix === '' ? name : `${prefix}.${name}`;
      const meaning = meanings[key];
      if (meaning !== undefined) node.description = meaning;
      describeKeys(node, key, meanings);
    }
  }
}

function daemonConfigSchema(): Node {
  const s = z.toJSONSchema(configSchema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'throw' }) as Node;
  describeKeys(s, '', CONFIG_MEANINGS);
  const props = asNode(s.properties) ?? {};
  const stream = asNode(asNode(props.streams)?.items);
  if (stream) describeKeys(stream, '', STREAM_MEANINGS);
  for (const kind of (asNode(asNode(props.sinks)?.items)?.oneOf ?? []) as unknown[]) {
    const node = asNode(kind);
    if (node) describeKeys(node, '', SINK_MEANINGS);
  }
  return { $schema: s.$schema, $id: 'urn:affect-daemon:config', title: 'affect-daemon configuration (daemon run --config)', description: 'Every key with its default and meaning: docs/configuration.md.', ...s };
}

function trainSchema(): Node {
  const s = z.toJSONSchema(trainConfigSchema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'throw' }) as Node;
  return { $schema: s.$schema, $id: 'urn:affect-daemon:train-config', title: 'affect-daemon training configuration (daemon train --config)', description: 'docs/training.md; config/train.example.yaml lists every key with its default.', ...s };
}

const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

export function jsonDocuments(): JsonDocument[] {
  return [
    ...EVENT_TYPES.map((type) => ({ file: `docs/api/events/${type}.schema.json`, content: json(eventJsonSchema(type)) })),
    { file: 'docs/api/openapi.json', content: json(openApiDocument(HTTP_ROUTES)) },
    { file: 'docs/api/asyncapi.json', content: json(asyncApiDocument()) },
    { file: 'config/schema.json', content: json(daemonConfigSchema()) },
    { file: 'config/train.schema.json', content: json(trainSchema()) },
  ];
}
