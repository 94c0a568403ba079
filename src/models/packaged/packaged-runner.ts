/**
 * A loaded packaged-expression model directory, run the way the daemon runs any model: one CNN
 * pass per face and member, one decision per frame by the seed's ensemble rule (mean of the
 * members' EXPR probabilities, then argmax). AU and VA are not provided and stay absent.
 */
import path from 'node:path';
import { readModelJsonText, whyUnreadable } from '../io/read-model-file.js';
import { decideCachedFrame, type EnsembleFrame, type RgbFace } from '../seed/index.js';
import { ModelManifestError, SeedModelError } from '../seed/errors.js';
import type { FrameCache, MemberFrameCache } from '../seed/frame-cache.js';
import { parsePackagedManifest, type FaceCropSpec, type PackagedManifest } from './manifest.js';
import { PackagedMember } from './packaged-member.js';

const EMPTY = new Float32Array(0);

export class PackagedRunner {
  readonly kind = 'cnn' as const;
  readonly seqLen = 1;
  readonly hidden = 0;
  readonly thresholds: readonly number[] = [];

  private constructor(
    readonly dir: string,
    readonly manifest: PackagedManifest,
    readonly members: readonly PackagedMember[],
    private readonly opts: { readonly includeMembers: boolean },
  ) {}

  static async load(dir: string, json: unknown, opts: { readonly includeMembers: boolean }): Promise<PackagedRunner> {
    const manifest = parsePackagedManifest(json, path.join(dir, 'manifest.json'));
    const members: PackagedMember[] = [];
    try {
      for (const spec of manifest.members) members.push(await PackagedMember.load(spec, dir));
    } catch (err) {
      for (const m of members) m.dispose();
      throw err;
    }
    return new PackagedRunner(dir, manifest, members, opts);
  }

  static async fromDir(dir: string, opts: { readonly includeMembers: boolean }): Promise<PackagedRunner> {
    const file = path.join(dir, 'manifest.json');
    let json: unknown;
    try {
      json = JSON.parse(await readModelJsonText(file));
    } catch (err) {
      if (err instanceof SyntaxError) throw new ModelManifestError(file, [{ path: '', message: `not valid JSON (${err.message})` }], { cause: err });
      throw new SeedModelError('VA_ERR_MODEL_FILES', `${file}: cannot read the model manifest: it ${whyUnreadable(err)}`, { file }, { cause: err });
    }
    return PackagedRunner.load(dir, json, opts);
  }

  get crop(): FaceCropSpec {
    return this.manifest.crop;
  }

  get cropSize(): number {
    return this.manifest.cropSize;
  }

  get memberInfo(): readonly { readonly name: string; readonly role: string }[] {
    return this.members;
  }

  /**
   * Every member on a batch of faces. The cache holds log-probabilities as the EXPR "logits" (the
   * decoder's softmax returns the probabilities exactly) and empty AU / VA: not provided.
   */
  runCnn(faces: readonly RgbFace[]): FrameCache[] {
    if (faces.length === 0) return [];
    const perMember = this.members.map((m) => m.run(faces));
    return faces.map((_, i) =>
      perMember.map((rows): MemberFrameCache => {
        const p = rows[i]!;
        return {
          features: { EXPR: EMPTY, AU: EMPTY, VA: EMPTY },
          logits: { EXPR: Float32Array.from(p, (v) => Math.log(v)), AU: EMPTY, VA: EMPTY },
        };
      }),
    );
  }

  decide(frame: FrameCache): EnsembleFrame {
    return decideCachedFrame(frame, { thresholds: this.thresholds, includeMembers: this.opts.includeMembers });
  }

  decideCnn(frames: readonly FrameCache[]): EnsembleFrame[] {
    return frames.map((f) => this.decide(f));
  }

  decideSequence(): EnsembleFrame[] {
    throw new RangeError('a packaged expression model is per-frame (kind cnn): it has no sequence heads');
  }

  dispose(): void {
    for (const m of this.members) m.dispose();
  }
}
