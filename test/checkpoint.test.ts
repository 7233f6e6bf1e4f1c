/** The checkpoint file: a checksum over all of it, and a header checked against what a resumed run reads (issue 26, item 12). */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OtocError } from '../src/errors.js';
import {
  CHECKPOINT_FILE,
  checkSavedState,
  decodeCheckpoint,
  encodeCheckpoint,
  readCheckpoint,
  type Checkpoint,
} from '../src/train/checkpoint.js';
import type { TrainerState } from '../src/train/trainer.js';

const workDir = mkdtempSync(join(tmpdir(), 'otoc-checkpoint-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function checkpoint(): Checkpoint<{ lr: number }> {
  const trainer: TrainerState = {
    position: { epoch: 1, stepInEpoch: 3, step: 11, totals: { lossSum: 4.5, metrics: { correct: 20 }, samples: 96, seconds: 1.25 } },
    variables: { 'param:conv.weight': Float32Array.of(0.5, -1.25, 3), 'buffer:bn.running_mean': Float32Array.of(0.125) },
    optimizer: { steps: 11, m0: Float32Array.of(0.1, 0.2, 0.3), penalized: [0, 1] },
    method: { rounds: 2 },
    history: [{ epoch: 1, step: 8, lr: 0.1, trainLoss: 1.5, trainAccuracy: 0.4, imagesPerSecond: 900, seconds: 1, extra: { zeroGroups: 2 } }],
  };
  return { meta: { lr: 0.1 }, trainer };
}

const encoded = () => Buffer.concat(encodeCheckpoint(checkpoint()));

/**
 * The checkpoint file with its JSON header edited (float arrays stay references into the data
 * after it) and its checksum made right again, as a hand edit followed by a re-checksum would be.
 */
function withHeader(edit: (header: Record<string, any>) => void): Buffer {
  const bytes = encoded();
  const magic = bytes.subarray(0, bytes.indexOf(0x0a) + 1);
  const jsonStart = magic.length + 4;
  const jsonEnd = jsonStart + bytes.readUInt32LE(magic.length);
  const floats = bytes.subarray(jsonEnd + ((4 - (jsonEnd % 4)) % 4), bytes.length - 32);
  const header = JSON.parse(bytes.subarray(jsonStart, jsonEnd).toString('utf8'));
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  const padding = Buffer.alloc((4 - ((jsonStart + json.length) % 4)) % 4);
  const body = Buffer.concat([magic, length, json, padding, floats]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

function problem(bytes: Uint8Array): string {
  try {
    decodeCheckpoint(bytes);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('the checkpoint was accepted');
}

describe('checkpoint file', () => {
  it('reads back what was written, every float bit included', () => {
    expect(decodeCheckpoint(encoded())).toEqual(checkpoint());
  });

  it('refuses a checkpoint with one bit flipped anywhere: in the float data, the header, or the checksum', () => {
    const bytes = encoded();
    // The last float (before the 32-byte checksum), a byte of the header's JSON, a byte of the checksum.
    for (const at of [bytes.length - 33, 40, bytes.length - 1]) {
      const flipped = Buffer.from(bytes);
      flipped[at] ^= 0x01;
      expect(problem(flipped)).toMatch(/^its checksum does not match its contents/);
    }
  });

  it('refuses a truncated checkpoint and one from the format without a checksum', () => {
    expect(problem(encoded().subarray(0, 30))).toMatch(/truncated|checksum does not match/);
    const old = Buffer.from(encoded());
    old.write('OTOC-CHECKPOINT 1\n', 0);
    expect(problem(old)).toMatch(/written by an older otoc, in a format without a checksum/);
  });

  it('refuses a header whose structure is not what a resumed run reads, naming what is wrong', () => {
    expect(decodeCheckpoint(withHeader(() => {}))).toEqual(checkpoint());
    const renamed = withHeader((h) => {
      h.trainer.position.steps = h.trainer.position.step;
      delete h.trainer.position.step;
    });
    expect(problem(renamed)).toBe("its header is not what a resumed run needs: /trainer/position must have required property 'step'");
    const stringCount = withHeader((h) => (h.trainer.position.epoch = '1'));
    expect(problem(stringCount)).toMatch(/\/trainer\/position\/epoch must be integer/);
    const noHistory = withHeader((h) => delete h.trainer.history);
    expect(problem(noHistory)).toMatch(/\/trainer must have required property 'history'/);
    const notFloats = withHeader((h) => (h.trainer.variables['param:conv.weight'] = 'weights'));
    expect(problem(notFloats)).toMatch(/\/trainer\/variables\/param:conv.weight must be object/);
  });

  it('readCheckpoint names the file and says what is wrong in one line', () => {
    const dir = mkdtempSync(join(workDir, 'read-'));
    writeFileSync(join(dir, CHECKPOINT_FILE), Buffer.concat(encodeCheckpoint(checkpoint())));
    expect(readCheckpoint(dir)).toEqual(checkpoint());
    const path = join(dir, CHECKPOINT_FILE);
    const bytes = readFileSync(path);
    bytes[bytes.length - 40] ^= 0x80;
    writeFileSync(path, bytes);
    expect(() => readCheckpoint(dir)).toThrow(
      expect.objectContaining({ file: path, message: expect.stringMatching(/^not a usable otoc checkpoint: its checksum does not match/) }),
    );
  });
});

describe('checkSavedState', () => {
  const current = { steps: 0, m0: new Float32Array(3), penalized: [0, 0] };

  it('accepts state of the same keys, kinds and float lengths', () => {
    expect(() => checkSavedState({ steps: 5, m0: Float32Array.of(1, 2, 3), penalized: [1, 0], extra: 1 }, current, 'optimizer')).not.toThrow();
  });

  it.each([
    [{ steps: 5, mX: new Float32Array(3), penalized: [0, 0] }, "the checkpoint's optimizer state has nothing for 'm0', where this run has 3 floats"],
    [{ steps: 5, m0: new Float32Array(2), penalized: [0, 0] }, "the checkpoint's optimizer state has 2 floats for 'm0', where this run has 3 floats"],
    [{ steps: [5], m0: new Float32Array(3), penalized: [0, 0] }, "the checkpoint's optimizer state has an array of numbers for 'steps', where this run has a number"],
  ])('refuses %j', (saved, message) => {
    expect(() => checkSavedState(saved, current, 'optimizer')).toThrow(new OtocError(message));
  });
});
