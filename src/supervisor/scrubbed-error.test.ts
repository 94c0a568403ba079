import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, SourceError } from '../core/errors.js';
import { createLogger } from '../observability/logger.js';
import { scrubbedError } from './scrubbed-error.js';

function logged(fields: Record<string, unknown>): { line: Record<string, unknown>; text: string } {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString('utf8');
      cb();
    },
  });
  createLogger('info', out).error(fields, 'stream failed');
  return { line: JSON.parse(text) as Record<string, unknown>, text };
}

describe('scrubbedError', () => {
  it('logs under err with class, code, stack and cause, and no credential of the URL anywhere', () => {
    const url = 'rtsp://admin:hunter2@cam.example:554/live?token=s3cret';
    const cause = new Error(`Connection refused: ${url}`);
    const err = new SourceError(ErrorCodes.SOURCE_OPEN, `cannot open ${url}`, { cause, context: { source: url } });
    const { line, text } = logged({ err: scrubbedError(err) });
    expect(line.err).toMatchObject({ type: 'SourceError', code: 'VA_ERR_SOURCE_OPEN', message: expect.stringContaining('cam.example'), cause: { type: 'Error', message: expect.stringContaining('Connection refused') } });
    expect((line.err as { stack: string }).stack).toContain('scrubbed-error.test.ts');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('s3cret');
    // The error itself is untouched (the API's copy is scrubbed separately).
    expect(err.message).toContain('hunter2');
  });

  it('passes non-errors through, strings scrubbed', () => {
    expect(scrubbedError('rtsp://u:pw@h/x')).not.toContain('pw');
    expect(scrubbedError(undefined)).toBeUndefined();
  });
});
