import type * as tf from '@tensorflow/tfjs';

/**
 * The gradient of an NHWC max pool: each window's dy goes to its first maximum in row-major
 * window order, as the cpu backend picks it (ties are common after a ReLU). Positions outside
 * x (padding) never win, and neither does NaN; a window with no value above −∞ passes nothing.
 * Windows may overlap, so contributions add. `dx` must hold zeros.
 *
 * A plain loop over the backend's memory, one pass over the windows. tfjs-backend-wasm 4.22's own
 * kernel misplaces the gradient of a window whose maximum is ≤ 0, gives a tie to the last
 * maximum, and takes about 2.5 times as long.
 */
export function maxPoolGradient(
  x: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  info: tf.backend_util.Conv2DInfo,
): void {
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  const best = new Float32Array(channels);
  const winner = new Int32Array(channels);
  for (let b = 0; b < batchSize; b++) {
    for (let yRow = 0; yRow < outHeight; yRow++) {
      const rowStart = yRow * strideHeight - top;
      const rowFirst = Math.max(rowStart, 0);
      const rowEnd = Math.min(rowStart + filterHeight, inHeight);
      for (let yCol = 0; yCol < outWidth; yCol++) {
        const colStart = yCol * strideWidth - left;
        const colFirst = Math.max(colStart, 0);
        const colEnd = Math.min(colStart + filterWidth, inWidth);
        best.fill(-Infinity);
        winner.fill(-1);
        for (let row = rowFirst; row < rowEnd; row++) {
          for (let col = colFirst; col < colEnd; col++) {
            const base = ((b * inHeight + row) * inWidth + col) * channels;
            for (let c = 0; c < channels; c++) {
              const value = x[base + c];
              if (value > best[c]) {
                best[c] = value;
                winner[c] = base + c;
              }
            }
          }
        }
        const dyBase = ((b * outHeight + yRow) * outWidth + yCol) * channels;
        for (let c = 0; c < channels; c++) {
          if (winner[c] >= 0) dx[winner[c]] += dy[dyBase + c];
        }
      }
    }
  }
}
