import type { DetectorSessionHandle, FaceDetectorHost } from '../models/face-detector/face-detector-host.js';
import type { SourceSpec } from '../streams/open-source.js';
import { CreditGate } from './credit-gate.js';
import type { RunSettings } from './run-settings.js';

/**
 * What one subscription of runStream owns besides the frames in flight: its detector session and,
 * for a file read as fast as it goes, its credit gate. `released` resolves once the source has
 * freed its native resources (`sourceReleased`, called when its generator is closed, possibly
 * after unsubscribe) and `close()` has closed the session; `close()` is the run's one teardown.
 */
export class RunResources {
  readonly session: DetectorSessionHandle;
  readonly gate: CreditGate | undefined;
  readonly released: Promise<void>;
  readonly sourceReleased: () => void;
  private readonly sessionClosed: () => void;
  private closed = false;

  constructor(spec: SourceSpec, settings: Pick<RunSettings, 'realtime' | 'queueFrames' | 'detector'>, detector: Pick<FaceDetectorHost, 'createSession'>) {
    this.session = detector.createSession(settings.detector);
    // A camera or a paced file cannot wait for us: drop the oldest. A fast file can: back-pressure.
    this.gate = settings.realtime || spec.kind !== 'file' ? undefined : new CreditGate(settings.queueFrames + 1);
    let sourceReleased!: () => void;
    let sessionClosed!: () => void;
    const source = new Promise<void>((r) => (sourceReleased = r));
    const session = new Promise<void>((r) => (sessionClosed = r));
    this.sourceReleased = sourceReleased;
    this.sessionClosed = sessionClosed;
    this.released = Promise.all([source, session]).then(() => undefined);
  }

  /**
   * The pipeline is done (completed, failed or unsubscribed). The session closes only now: it
   * outlives the source, since frames still queued for detection need it. A pump blocked on
   * credit wakes to see its abort and close its source. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.session.close?.();
    this.sessionClosed();
    this.gate?.releaseAll();
  }
}
