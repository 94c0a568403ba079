import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCodes } from '../core/errors.js';
import type { StreamSupervisor } from '../supervisor/stream-supervisor.js';
import { sendError } from './http-errors.js';
import type { SnapshotRegistry } from './snapshots.js';

export const SNAPSHOT_PATH = /^\/v1\/streams\/([^/]+)\/snapshot\.jpg$/;

/**
 * GET /v1/streams/{id}/snapshot.jpg[?annotated=1][&blur=1]: the latest analysed frame, never
 * cached by clients; what it may show is the stream's privacy.snapshots (snapshots.ts).
 */
export async function serveSnapshot(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  rawId: string,
  deps: { readonly supervisor: Pick<StreamSupervisor, 'get' | 'has'>; readonly snapshots: SnapshotRegistry | undefined },
): Promise<void> {
  const method = req.method ?? 'GET';
  let id: string;
  try {
    id = decodeURIComponent(rawId);
  } catch {
    return sendError(res, ErrorCodes.BAD_REQUEST, 'the stream id in the path is not valid percent-encoding', { field: 'id' });
  }
  if (method !== 'GET' && method !== 'HEAD') return sendError(res, ErrorCodes.METHOD_NOT_ALLOWED, `${method} is not allowed on ${url.pathname}`, { headers: { allow: 'GET, HEAD' } });
  const annotated = url.searchParams.get('annotated');
  if (annotated !== null && annotated !== '0' && annotated !== '1') return sendError(res, ErrorCodes.BAD_REQUEST, 'annotated must be 0 or 1', { field: 'annotated' });
  const blur = url.searchParams.get('blur');
  if (blur !== null && blur !== '0' && blur !== '1') return sendError(res, ErrorCodes.BAD_REQUEST, 'blur must be 0 or 1', { field: 'blur' });
  if (!deps.supervisor.has(id)) return sendError(res, ErrorCodes.NOT_FOUND, `no stream with id ${JSON.stringify(id)}`);
  const store = deps.snapshots?.get(id);
  if (store?.privacy === 'off') {
    return sendError(res, ErrorCodes.SNAPSHOT_FORBIDDEN, `snapshots of stream ${JSON.stringify(id)} are off (privacy.snapshots: off; push streams are off unless their client asks for snapshots=blurred or raw)`);
  }
  if (store?.privacy === 'blurred' && blur === '0') {
    return sendError(res, ErrorCodes.SNAPSHOT_FORBIDDEN, `stream ${JSON.stringify(id)} serves blurred snapshots only (privacy.snapshots: blurred): leave out blur=0`, { field: 'blur' });
  }
  const snap = await store?.jpeg(annotated === '1', blur === '1');
  if (!snap) {
    res.setHeader('retry-after', '1');
    return sendError(res, ErrorCodes.NOT_FOUND, `stream ${JSON.stringify(id)} has no analysed frame yet`);
  }
  res.writeHead(200, {
    'content-type': 'image/jpeg',
    'content-length': snap.jpeg.length,
    'cache-control': 'no-store',
    'x-frame-seq': String(snap.seq),
    'x-frame-pts': snap.pts.toFixed(3),
    'x-snapshot-blurred': snap.blurred ? '1' : '0',
    'last-modified': new Date(snap.wallTime).toUTCString(),
  });
  res.end(method === 'HEAD' ? undefined : snap.jpeg);
}
