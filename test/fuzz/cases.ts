/** Fuzz case `index` of run `seed`: which corpus model, which mutations, which prune options. Deterministic. */
import { readFileSync } from 'node:fs';
import { Rng } from '../../src/util/random.js';
import { mutate, pick, type Mutant } from './mutate.js';

export interface CorpusModel {
  name: string;
  bytes: Uint8Array;
}

export interface FuzzCase extends Mutant {
  model: string;
  randomZero: number;
  pruneSeed: number;
}

/** Read corpus models into plain arrays (a Buffer's slice() is a view, and mutations must not touch the source). */
export function readCorpus(models: { name: string; path: string }[]): CorpusModel[] {
  return models.map(({ name, path }) => ({ name, bytes: new Uint8Array(readFileSync(path)) }));
}

/** A 32-bit mix of the run's seed and the case index, so every case is reproducible on its own. */
function caseSeed(seed: number, index: number): number {
  let h = Math.imul(seed ^ 0x85ebca6b, 0xc2b2ae35) ^ Math.imul(index + 1, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return (h ^ (h >>> 13)) >>> 0;
}

export function fuzzCase(corpus: CorpusModel[], seed: number, index: number): FuzzCase {
  const rng = new Rng(caseSeed(seed, index));
  const source = pick(rng, corpus);
  const mutant = mutate(source.bytes, rng);
  return { ...mutant, model: source.name, randomZero: Math.round(rng.next() * 100) / 100, pruneSeed: rng.int(1000) };
}
