import { describe, expect, it } from 'vitest';
import { accessPolicy, hostName, isJsonContentType, isStateChanging } from './request-guard.js';

describe('hostName', () => {
  it('takes the name out of a Host header', () => {
    expect(hostName('LocalHost:8080')).toBe('localhost');
    expect(hostName('127.0.0.1')).toBe('127.0.0.1');
    expect(hostName('[::1]:80')).toBe('::1');
    expect(hostName('[::1]')).toBe('::1');
  });
  it('refuses malformed headers', () => {
    for (const bad of ['', 'a b', 'host:port', 'host:123456', '[::1', '::1', 'a/b', 'a@b']) expect(hostName(bad), bad).toBeUndefined();
  });
});

describe('accessPolicy', () => {
  it('allows loopback names and a specific bind host by default, nothing else', () => {
    const p = accessPolicy({ host: '192.0.2.7', allowedHosts: [], allowedOrigins: [] });
    for (const ok of ['localhost', 'localhost:1', '127.0.0.1:8080', '[::1]:8080', '192.0.2.7:8080', undefined]) expect(p.hostAllowed(ok), String(ok)).toBe(true);
    for (const bad of ['evil.example', 'localhost.evil.example', '127.0.0.1.nip.io', '127.0.0.2', '0.0.0.0', '']) expect(p.hostAllowed(bad), bad).toBe(false);
  });
  it('does not let a wildcard bind host allow every name', () => {
    for (const host of ['0.0.0.0', '::']) {
      const p = accessPolicy({ host, allowedHosts: [], allowedOrigins: [] });
      expect(p.hostAllowed('0.0.0.0')).toBe(false);
      expect(p.hostAllowed('evil.example')).toBe(false);
      expect(p.hostAllowed('localhost:9')).toBe(true);
    }
  });
  it('adds configured names (any port, brackets optional), or allows any with *', () => {
    const p = accessPolicy({ host: '0.0.0.0', allowedHosts: ['Cam.Example.com', '[fd00::1]'], allowedOrigins: [] });
    expect(p.hostAllowed('cam.example.com:443')).toBe(true);
    expect(p.hostAllowed('[fd00::1]:8080')).toBe(true);
    expect(p.hostAllowed('other.example.com')).toBe(false);
    expect(accessPolicy({ host: '127.0.0.1', allowedHosts: ['*'], allowedOrigins: [] }).hostAllowed('anything.example')).toBe(true);
  });
  it('allows same-origin, listed origins and requests without Origin', () => {
    const p = accessPolicy({ host: '127.0.0.1', allowedHosts: [], allowedOrigins: ['https://dash.example.com'] });
    expect(p.originAllowed(undefined, 'localhost:8080')).toBe(true);
    expect(p.originAllowed('http://localhost:8080', 'localhost:8080')).toBe(true);
    expect(p.originAllowed('http://LOCALHOST:8080', 'localhost:8080')).toBe(true);
    expect(p.originAllowed('http://127.0.0.1', '127.0.0.1:80')).toBe(true);
    expect(p.originAllowed('https://dash.example.com', 'localhost:8080')).toBe(true);
    for (const bad of ['http://localhost:8081', 'http://evil.example', 'null', 'https://dash.example.com.evil', 'garbage', '']) {
      expect(p.originAllowed(bad, 'localhost:8080'), bad).toBe(false);
    }
    expect(p.originAllowed('http://localhost:8080', undefined)).toBe(false);
    expect(accessPolicy({ host: '127.0.0.1', allowedHosts: [], allowedOrigins: ['*'] }).originAllowed('http://evil.example', 'localhost')).toBe(true);
  });
});

describe('isJsonContentType', () => {
  it('takes application/json with an optional utf-8 charset only', () => {
    for (const ok of ['application/json', 'Application/JSON', 'application/json; charset=utf-8', 'application/json;charset="UTF-8"']) expect(isJsonContentType(ok), ok).toBe(true);
    for (const bad of [undefined, '', 'text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded', 'multipart/form-data', 'application/jsonp', 'application/json; charset=latin1']) {
      expect(isJsonContentType(bad), String(bad)).toBe(false);
    }
  });
  it('treats every method but GET, HEAD and OPTIONS as state-changing', () => {
    expect(['GET', 'HEAD', 'OPTIONS'].map(isStateChanging)).toEqual([false, false, false]);
    expect(['POST', 'DELETE', 'PUT', 'PATCH', 'FOO'].map(isStateChanging)).toEqual([true, true, true, true, true]);
  });
});
