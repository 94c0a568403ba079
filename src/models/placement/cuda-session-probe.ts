/**
 * Whether a session on ONNX Runtime's CUDA execution provider can be created here, tried on a
 * one-node graph in a child process: a broken CUDA or cuDNN install may abort the process that
 * loads the provider, and that must not be the daemon. Only tried when the provider library is
 * present (on a CPU-only host nothing is spawned).
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { GraphBuilder } from '../onnx/graph-builder.js';

export interface CudaSessionResult {
  readonly ok: boolean;
  readonly error?: string;
}

const CHILD = `
const [ortUrl, b64] = process.argv.slice(1);
const m = await import(ortUrl);
const ort = m.default ?? m;
ort.env.logLevel = 'fatal';
try {
  const s = await ort.InferenceSession.create(Buffer.from(b64, 'base64'), { executionProviders: ['cuda'] });
  await s.release();
  process.stdout.write(JSON.stringify({ ok: true }));
} catch (err) {
  process.stdout.write(JSON.stringify({ ok: false, error: String(err && err.message || err).split('\\n')[0] }));
}`;

function identityGraph(): Uint8Array {
  const g = new GraphBuilder('cuda_probe');
  g.op('Identity', [g.input('x', [1])], {}, ['y']);
  g.output('y', [1]);
  return g.encode();
}

export function parseProbeOutput(stdout: string, failure: string | undefined): CudaSessionResult {
  try {
    const r = JSON.parse(stdout) as { ok?: unknown; error?: unknown };
    if (r.ok === true) return { ok: true };
    if (r.ok === false) return { ok: false, error: typeof r.error === 'string' ? r.error : 'unknown error' };
  } catch {
    // Nothing (or not JSON) on stdout: the child died; `failure` says how.
  }
  return { ok: false, error: failure ?? 'the probe printed no result' };
}

export function tryCudaSession(timeoutMs = 60_000): Promise<CudaSessionResult> {
  let ortUrl: string;
  try {
    ortUrl = pathToFileURL(createRequire(import.meta.url).resolve('onnxruntime-node')).href;
  } catch (err) {
    return Promise.resolve({ ok: false, error: `onnxruntime-node not found: ${(err as Error).message}` });
  }
  const b64 = Buffer.from(identityGraph()).toString('base64');
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', CHILD, ortUrl, b64], { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout) => {
      const how = err === null ? undefined : err.killed ? `the probe process was killed after ${timeoutMs} ms` : err.signal ? `the probe process ended on ${err.signal}` : `the probe process exited with ${String(err.code)}`;
      resolve(parseProbeOutput(stdout, how));
    });
  });
}
