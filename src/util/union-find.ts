/** Disjoint sets over integer ids 0..n-1 that grow on demand (path halving + union by size). */
export class UnionFind {
  private parent = new Int32Array(1024);
  private size = new Int32Array(1024);
  private count = 0;

  get length(): number {
    return this.count;
  }

  /** Allocate `n` new singleton ids and return the first. */
  add(n: number): number {
    const first = this.count;
    this.reserve(first + n);
    for (let i = first; i < first + n; i++) {
      this.parent[i] = i;
      this.size[i] = 1;
    }
    this.count += n;
    return first;
  }

  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) {
      p[x] = p[p[x]];
      x = p[x];
    }
    return x;
  }

  /** Merge the sets of a and b; returns the new root. */
  union(a: number, b: number): number {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return ra;
    if (this.size[ra] < this.size[rb]) [ra, rb] = [rb, ra];
    this.parent[rb] = ra;
    this.size[ra] += this.size[rb];
    return ra;
  }

  private reserve(n: number): void {
    if (n <= this.parent.length) return;
    const cap = Math.max(n, this.parent.length * 2);
    const parent = new Int32Array(cap);
    parent.set(this.parent);
    const size = new Int32Array(cap);
    size.set(this.size);
    this.parent = parent;
    this.size = size;
  }
}
