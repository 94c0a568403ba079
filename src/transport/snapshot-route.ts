import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCodes } from '../core/errors.js';
import type { StreamSupervisor } from '../supervisor/stream-supervisor.js';
import { sendError } from './http-errors.js';
import type { SnapshotRegistry } from './snapshots.js';

export const SNAPSHOT_PATH = /^\/v1\/streams\/([^/]+)\/snapshot\.jpg$/;

/** GET /v1/streams/{id}/snapshot.jpg[?annotated=1]: the latest analysed frame, never cached by clients. */
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
  if (!deps.supervisor.has(id)) return sendError(res, ErrorCodes.NOT_FOUND, `no stream with id ${JSON.stringify(id)}`);
  const snap = await deps.snapshots?.get(id)?.jpeg(annotated === '1');
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
    'last-modified': new Date(snap.wallTime).toUTCString(),
  });
  res.end(method === 'HEAD' ? undefined : snap.jpeg);
}
