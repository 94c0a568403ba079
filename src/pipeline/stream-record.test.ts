import { describe, expectTypeOf, it } from 'vitest';
import type { RecordSink, StreamRecord } from './stream-record.js';

describe('RecordSink', () => {
  it("takes exactly the records of the kinds a stage names, and the run's sink serves every stage", () => {
    // Checked by the type-check (tsc -p tsconfig.json); nothing happens at run time.
    expectTypeOf<Parameters<RecordSink<'analysed' | 'dropped'>>[0]>().toEqualTypeOf<Extract<StreamRecord, { kind: 'analysed' | 'dropped' }>>();
    expectTypeOf<Parameters<RecordSink>[0]>().toEqualTypeOf<StreamRecord>();
    expectTypeOf<RecordSink>().toExtend<RecordSink<'tracks'>>();
    expectTypeOf<RecordSink<'tracks'>>().not.toExtend<RecordSink<'analysed'>>();
    const tracks: RecordSink<'tracks'> = () => undefined;
    // @ts-expect-error a stage cannot report a kind its sink does not name
    tracks({ kind: 'analysed', frameSeq: 0, faces: 0, detectMs: 0 });
  });
});
