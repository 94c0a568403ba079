import { describe, expect, expectTypeOf, it } from 'vitest';
import { AU_LABELS as MODEL_AU_LABELS, EXPR_LABELS as MODEL_EXPR_LABELS } from '../models/seed/constants.js';
import { AU_LABELS, EXPR_LABELS } from './affect-labels.js';
import { EVENT_SCHEMAS, EVENT_SCHEMA_VERSION, eventJsonSchema, eventSchemaId } from './event-schemas.js';
import type { StreamId } from './ids.js';
import { EVENT_TYPES, type AffectEvent, type EventType, type FacesEvent, type StreamEvent, type TrackEvent } from './records.js';

describe('event schemas', () => {
  it('there is one schema per published event type, and no other', () => {
    expect(Object.keys(EVENT_SCHEMAS).sort()).toEqual([...EVENT_TYPES].sort());
    expectTypeOf<keyof typeof EVENT_SCHEMAS>().toEqualTypeOf<EventType>();
  });

  it('the events name their fields after the labels the models use', () => {
    expect(MODEL_AU_LABELS).toBe(AU_LABELS);
    expect(MODEL_EXPR_LABELS).toBe(EXPR_LABELS);
  });

  it('the inferred types keep the readonly records and branded ids the code builds (checked by tsc)', () => {
    expectTypeOf<FacesEvent['streamId']>().toEqualTypeOf<StreamId>();
    expectTypeOf<StreamEvent['streamId']>().toEqualTypeOf<StreamId>();
    expectTypeOf<TrackEvent['streamId']>().toEqualTypeOf<StreamId>();
    expectTypeOf<FacesEvent['faces'][number]['box']>().toEqualTypeOf<readonly [number, number, number, number]>();
    expectTypeOf<FacesEvent['faces'][number]['landmarks']>().toEqualTypeOf<readonly (readonly [number, number])[]>();
    expectTypeOf<FacesEvent>().toHaveProperty('frame').toEqualTypeOf<number>();
    // Optional fields are absent, never present as undefined (exactOptionalPropertyTypes).
    expectTypeOf<StreamEvent>().toHaveProperty('error').toEqualTypeOf<{ readonly code: string; readonly message: string } | undefined>();
    expectTypeOf<AffectEvent['expr']['label']>().toEqualTypeOf<(typeof EXPR_LABELS)[number]>();
    expectTypeOf<keyof NonNullable<AffectEvent['au']>['probs']>().toEqualTypeOf<(typeof AU_LABELS)[number]>();
    // Checked by tsc, never run: nothing downstream may change what was published.
    const mutate = (e: FacesEvent): void => {
      // @ts-expect-error -- an event is read-only
      e.frame = 1;
      // @ts-expect-error -- and so are its faces
      e.faces[0]!.score = 0;
      // @ts-expect-error -- and its lists
      e.faces.push(e.faces[0]!);
    };
    void mutate;
  });

  it('each JSON Schema is draft 2020-12, named by its type and version, and closed', () => {
    for (const type of EVENT_TYPES) {
      const s = eventJsonSchema(type);
      expect(s.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(s.$id).toBe(eventSchemaId(type));
      expect(s.$id).toBe(`urn:affect-daemon:event:${type}:v${EVENT_SCHEMA_VERSION}`);
      expect(s.additionalProperties).toBe(false);
      expect((s.properties as Record<string, { const?: unknown }>).type?.const).toBe(type);
      expect(JSON.stringify(s)).not.toContain('readOnly');
    }
  });

  it('every field of every schema is described', () => {
    const undescribed: string[] = [];
    const walk = (s: unknown, at: string): void => {
      if (typeof s !== 'object' || s === null) return;
      const o = s as Record<string, unknown>;
      for (const [key, child] of Object.entries((o.properties ?? {}) as Record<string, Record<string, unknown>>)) {
        if (typeof child.description !== 'string' || child.description.length < 10) undescribed.push(`${at}.${key}`);
        walk(child, `${at}.${key}`);
      }
      if (typeof o.items === 'object') walk(o.items, `${at}[]`);
      for (const [i, p] of ((o.prefixItems ?? []) as unknown[]).entries()) {
        if (typeof (p as { description?: unknown }).description !== 'string') undescribed.push(`${at}[${i}]`);
        walk(p, `${at}[${i}]`);
      }
    };
    for (const type of EVENT_TYPES) walk(eventJsonSchema(type), type);
    expect(undescribed).toEqual([]);
  });
});
