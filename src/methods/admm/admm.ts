/**
 * ADMM over ZIG group sets (Zhang et al. 2018; AutoCompress, Liu et al. 2020): minimize the loss
 * f(W) subject to "group set s keeps at most k_s non-zero groups", by splitting W = Z with Z in
 * that set and a scaled dual U:
 *   W ← argmin f(W) + ρ/2‖W − Z + U‖²   (SGD steps, the proximal term's gradient ρ(W − Z + U))
 *   Z ← Π(W + U)                          (per set, the k_s groups of largest norm of W + U)
 *   U ← U + W − Z
 * Only the group vectors of constrained sets (k_s below the set's size) take part; every other
 * parameter element trains as plain SGD does.
 */
import type { GroupVector } from '../../train/group-vectors.js';
import type { Parameter } from '../../train/optimizer.js';
import { concatenate, split } from '../../train/flat-arrays.js';

export class AdmmSplit {
  /** Z and U of each constrained group vector, in its element order (GroupVector.parts). */
  readonly z: Float32Array[];
  readonly u: Float32Array[];
  private readonly groups: GroupVector[];
  /** Whether each constrained group is in Z's support (after the last projection). */
  private readonly supported: boolean[];

  /** `keep(set)`: how many groups set `set` keeps; sets that keep all their groups are left out. */
  constructor(
    private readonly params: readonly Parameter[],
    vectors: readonly GroupVector[],
    private readonly keep: (set: number) => number,
  ) {
    const size = new Map<number, number>();
    for (const g of vectors) size.set(g.set, (size.get(g.set) ?? 0) + 1);
    this.groups = vectors.filter((g) => keep(g.set) < size.get(g.set)!);
    this.z = this.groups.map((g) => new Float32Array(g.size));
    this.u = this.groups.map((g) => new Float32Array(g.size));
    this.supported = this.groups.map(() => true);
  }

  /** Z ← Π(W + U): per set, the groups of largest ‖W + U‖ keep W + U, the others are zero. */
  project(): void {
    const sums = this.groups.map((g, i) => {
      const w = this.gather(g);
      const u = this.u[i];
      for (let k = 0; k < w.length; k++) w[k] += u[k];
      return w;
    });
    const bySet = new Map<number, number[]>();
    this.groups.forEach((g, i) => bySet.set(g.set, [...(bySet.get(g.set) ?? []), i]));
    const norm2 = sums.map((v) => v.reduce((a, x) => a + x * x, 0));
    for (const [set, members] of bySet) {
      // Ties go to the lower index, so the projection is deterministic.
      const kept = new Set([...members].sort((a, b) => norm2[b] - norm2[a] || a - b).slice(0, Math.max(0, this.keep(set))));
      for (const i of members) {
        this.supported[i] = kept.has(i);
        if (kept.has(i)) this.z[i].set(sums[i]);
        else this.z[i].fill(0);
      }
    }
  }

  /** U ← U + W − Z. */
  updateDual(): void {
    this.groups.forEach((g, i) => {
      const w = this.gather(g);
      const [z, u] = [this.z[i], this.u[i]];
      for (let k = 0; k < w.length; k++) u[k] += w[k] - z[k];
    });
  }

  /** ‖W − Z‖ over the constrained group vectors. */
  residual(): number {
    let sum = 0;
    this.groups.forEach((g, i) => {
      const w = this.gather(g);
      const z = this.z[i];
      for (let k = 0; k < w.length; k++) sum += (w[k] - z[k]) ** 2;
    });
    return Math.sqrt(sum);
  }

  /** Adds the proximal term's gradient ρ(W − Z + U) to `grads` (of the master copies, in their order). */
  addProximalGradient(grads: readonly Float32Array[], rho: number): void {
    this.groups.forEach((g, i) => {
      const [z, u] = [this.z[i], this.u[i]];
      let k = 0;
      for (const part of g.parts) {
        const [w, grad] = [this.params[part.param].data, grads[part.param]];
        for (const j of part.offsets) {
          grad[j] += rho * (w[j] - z[k] + u[k]);
          k++;
        }
      }
    });
  }

  /** ZIG ids outside Z's support: the groups a hard prune zeroes. */
  outsideSupport(): number[] {
    return this.groups.filter((_, i) => !this.supported[i]).map((g) => g.zig);
  }

  /** Z, U and Z's support end to end, for a checkpoint. */
  state(): { z: Float32Array; u: Float32Array; supported: number[] } {
    return { z: concatenate(this.z), u: concatenate(this.u), supported: this.supported.map(Number) };
  }

  restore(state: { z: Float32Array; u: Float32Array; supported: number[] }): void {
    copyInto(state.z, this.z);
    copyInto(state.u, this.u);
    state.supported.forEach((s, i) => (this.supported[i] = s === 1));
  }

  private gather(g: GroupVector): Float32Array {
    const out = new Float32Array(g.size);
    let k = 0;
    for (const part of g.parts) for (const j of part.offsets) out[k++] = this.params[part.param].data[j];
    return out;
  }
}

/** `flat` copied into `into`, array by array. */
function copyInto(flat: Float32Array, into: Float32Array[]): void {
  const total = into.reduce((a, x) => a + x.length, 0);
  if (flat.length !== total) throw new Error(`internal: ADMM state of ${flat.length} elements for ${total}`);
  split(flat, into.map((a) => a.length)).forEach((part, i) => into[i].set(part));
}
