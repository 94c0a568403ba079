import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SourceError } from '../core/errors.js';
import { isUnderRoots, parseSourceUrl, redactUrl } from './source-url.js';

describe('parseSourceUrl', () => {
  it('knows files, file URLs, RTSP and the demo', () => {
    expect(parseSourceUrl('clips/a.mp4', '/data')).toEqual({ kind: 'file', path: '/data/clips/a.mp4' });
    expect(parseSourceUrl('file:///srv/a%20b.mkv')).toEqual({ kind: 'file', path: '/srv/a b.mkv' });
    expect(parseSourceUrl('rtsp://u:p@cam/1')).toEqual({ kind: 'rtsp', url: 'rtsp://u:p@cam/1' });
    expect(parseSourceUrl('RTSPS://cam/1').kind).toBe('rtsp');
    expect(parseSourceUrl('demo:')).toEqual({ kind: 'demo', scene: 'faces' });
  });

  it('refuses unknown schemes with a code and the scheme in the message', () => {
    const err = (() => {
      try {
        parseSourceUrl('gopher://x/y');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).code).toBe('VA_ERR_SOURCE_SCHEME');
    expect((err as SourceError).message).toContain('gopher:');
  });
});

describe('redactUrl', () => {
  it('hides credentials', () => {
    expect(redactUrl('rtsp://admin:s3cret@10.0.0.2:554/live')).toBe('rtsp://***@10.0.0.2:554/live');
    expect(redactUrl('rtsp://cam/live')).toBe('rtsp://cam/live');
  });
});

describe('isUnderRoots', () => {
  it('accepts paths inside a root and refuses escapes', () => {
    const root = path.resolve('/srv/video');
    expect(isUnderRoots('/srv/video/a.mp4', [root])).toBe(true);
    expect(isUnderRoots('/srv/video/sub/../b.mp4', [root])).toBe(true);
    expect(isUnderRoots('/srv/video/../secret.mp4', [root])).toBe(false);
    expect(isUnderRoots('/srv/videos/a.mp4', [root])).toBe(false);
    expect(isUnderRoots('/etc/passwd', [root, '/tmp'])).toBe(false);
  });
});
