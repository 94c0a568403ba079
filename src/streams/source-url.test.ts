import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SourceError } from '../core/errors.js';
import { isUnderRoots, parseSourceUrl, redactUrl, splitNetworkUrl } from './source-url.js';

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

describe('parseSourceUrl on network URLs', () => {
  const code = (url: string): string | undefined => {
    try {
      parseSourceUrl(url);
      return undefined;
    } catch (e) {
      return (e as SourceError).code;
    }
  };

  it('takes schemes case-insensitively and hands FFmpeg a lower-case one', () => {
    expect(parseSourceUrl('RTSP://cam:554/live')).toEqual({ kind: 'rtsp', url: 'rtsp://cam:554/live' });
    expect(parseSourceUrl('Rtsps://u:p@cam/live')).toEqual({ kind: 'rtsp', url: 'rtsps://u:p@cam/live' });
  });

  it('accepts what FFmpeg can open', () => {
    for (const url of ['rtsp://10.0.0.2/live', 'rtsp://[::1]:8554/cam', 'rtsp://admin:p@ss@cam.local:554/x?channel=1', 'rtsp://cam-01_b.example.com']) {
      expect(code(url), url).toBeUndefined();
    }
  });

  it('refuses URLs that can never work with VA_ERR_SOURCE_URL', () => {
    for (const url of ['rtsp://', 'rtsp:///live', 'rtsp://[::1', 'rtsp://[nothost]/x', 'rtsp://%%%garbage%%%/x', 'rtsp://u:p@/x', 'rtsp://cam:0/x', 'rtsp://cam:99999/x', 'rtsp://cam:/x', 'rtsp://cam x/y', 'rtsp:cam', 'rtsp://cam\n/x']) {
      expect(code(url), url).toBe('VA_ERR_SOURCE_URL');
    }
  });

  it('never quotes credentials in its error', () => {
    try {
      parseSourceUrl('rtsp://admin:s3cret@%%%/x');
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).not.toContain('s3cret');
    }
  });

  it('splits userinfo at the last @', () => {
    expect(splitNetworkUrl('rtsp://admin:p@ss@host:8554/cam?x=1')).toEqual({ scheme: 'rtsp', userinfo: 'admin:p@ss', host: 'host', port: 8554, rest: '/cam?x=1' });
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
