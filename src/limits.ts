/**
 * The limits otoc applies to what it reads, so that no file can make it allocate absurdly,
 * recurse without bound or loop for hours. Beyond one of them the input is refused as bad
 * input (exit code 2), with a message that names the limit's value. The README's security
 * section cites these names.
 */

/**
 * Protobuf messages nested deeper than this are refused before anything decodes them (graphs
 * inside attributes inside nodes inside graphs ...). It is protobuf C++'s default recursion
 * limit, which onnxruntime and onnx.checker parse under: the files they accept stay within it.
 */
export const MAX_NESTING_DEPTH = 100;

/**
 * A tensor stored in the file (initializer, Constant, attribute, test data) may hold at most
 * this many elements, 2^32 − 1: the most a JavaScript typed array holds. Its dims are checked
 * against it, and against the data actually stored, before anything is allocated.
 */
export const MAX_STORED_ELEMENTS = 2 ** 32 - 1;

/**
 * A value the shape pass infers (an activation, a computed shape) may have at most this many
 * elements, 2^40 (4 TiB of float32): nothing that size can run anywhere, and a shape that
 * large comes from a corrupt or hostile attribute (a pad of 2^31, a dim of 2^62).
 */
export const MAX_INFERRED_ELEMENTS = 2 ** 40;

/**
 * Tensors and shapes have at most this many dims, as numpy allows (NPY_MAXDIMS). Shape
 * arithmetic builds arrays as long as a rank, so a longer shape is refused.
 */
export const MAX_RANK = 64;

/**
 * The zero-invariant group analysis tracks each channel of each value it follows: at most
 * this many channel elements in all, 2^26 (67 million; DenseNet-121, the corpus model that needs
 * the most, tracks 46,750). Beyond it the model is refused rather than analyzed.
 */
export const MAX_TRACKED_CHANNELS = 2 ** 26;
