import { describe, expect, it } from 'vitest';
import { redactUrl, scrubCredentials } from './redact-url.js';

const SECRETS = ['s3cret', 'p@ss', 'ss@host', 'hunter2', 'tok123', 'k3y', 'alice', 'sig9'];

/** No secret may survive, in any of the forms a camera URL takes. */
function expectClean(text: string): void {
  for (const s of SECRETS) expect(text, text).not.toContain(s);
}

describe('redactUrl', () => {
  it('hides userinfo, splitting at the last @ as FFmpeg does', () => {
    expect(redactUrl('rtsp://admin:s3cret@10.0.0.2:554/live')).toBe('rtsp://***@10.0.0.2:554/live');
    expect(redactUrl('rtsp://admin:p@ss@host/cam')).toBe('rtsp://***@host/cam');
    expect(redactUrl('rtsp://admin:p@ss@[::1]:8554/cam')).toBe('rtsp://***@[::1]:8554/cam');
    expect(redactUrl('rtsp://cam/live')).toBe('rtsp://cam/live');
    expect(redactUrl('RTSP://alice@cam/live')).toBe('RTSP://***@cam/live');
  });

  it('hides credentials in the query string, by parameter name', () => {
    const out = redactUrl('rtsp://cam/live?channel=1&user=alice&password=hunter2&token=tok123&auth=x&key=k3y&Signature=sig9');
    expect(out).toBe('rtsp://cam/live?channel=1&user=***&password=***&token=***&auth=***&key=***&Signature=***');
    expect(redactUrl('rtsp://cam/x?PWD=hunter2;pass=s3cret')).toBe('rtsp://cam/x?PWD=***;pass=***');
    expect(redactUrl('rtsp://cam/x?%70assword=hunter2')).toBe('rtsp://cam/x?%70assword=***');
    expect(redactUrl('rtsp://admin:p@ss@host/cam?username=alice&pwd=s3cret')).toBe('rtsp://***@host/cam?username=***&pwd=***');
  });

  it('hides a password that contains a raw / as well', () => {
    expectClean(redactUrl('rtsp://admin:hun/ter2@cam/live').replace('hun/ter2', 'hunter2'));
    expect(redactUrl('rtsp://admin:hun/ter2@cam/live')).toBe('rtsp://***@cam/live');
  });
});

describe('scrubCredentials', () => {
  it('cleans every URL form inside free text, FFmpeg messages included', () => {
    const texts = [
      'cannot connect: rtsp://admin:p@ss@host/cam: Connection refused',
      "Failed to open 'rtsp://admin:s3cret@10.0.0.2/live?token=tok123': Input/output error",
      'rtsp://cam/live?user=alice&password=hunter2 timed out',
      'error opening rtsps://u:s3cret@cam:322/a and rtsp://x/y?key=k3y&sig=sig9',
      'options: password=hunter2 user=alice',
    ];
    for (const t of texts) expectClean(scrubCredentials(t));
    expect(scrubCredentials('cannot connect: rtsp://admin:p@ss@host/cam: Connection refused')).toBe('cannot connect: rtsp://***@host/cam: Connection refused');
  });

  it('leaves text without credentials alone', () => {
    const t = 'decoding failed after 12 frames: Invalid data found when processing input (rtsp://cam:554/live?channel=2)';
    expect(scrubCredentials(t)).toBe(t);
  });
});
