import { describe, expect, it } from 'vitest';
import { parseByteRows } from '../src/data/byte-rows.js';

const parse = (json: string, rowLength = 3) => Array.from(parseByteRows(Buffer.from(json), rowLength, 'rows.json'));

describe('parseByteRows', () => {
  it('concatenates the rows, drops empty ones and allows JSON whitespace', () => {
    expect(parse('{"data":[[1,2,3],[],[255,0,7]]}')).toEqual([1, 2, 3, 255, 0, 7]);
    expect(parse(' {\n "data" : [ [ 1 , 2,3 ] ,\t[ ] ] }\n')).toEqual([1, 2, 3]);
    expect(parse('{"data":[]}')).toEqual([]);
  });

  it('rejects anything but rows of bytes of the given length', () => {
    expect(() => parse('{"data":[[1,2]]}')).toThrow(/a row of 2 values at byte/);
    expect(() => parse('{"data":[[1,2,256]]}')).toThrow(/expected a byte/);
    expect(() => parse('{"data":[[1,2,3.5]]}')).toThrow(/expected ',' or '\]'/);
    expect(() => parse('{"data":[[1,2,-3]]}')).toThrow(/expected a byte/);
    expect(() => parse('{"images":[]}')).toThrow(/expected '"data"'/);
    expect(() => parse('{"data":[[1,2,3]]} x')).toThrow(/trailing data/);
    expect(() => parse('{"data":[[1,2,3]')).toThrow(/expected '\]'/);
  });
});
