/** Where the rate search scores a candidate (evaluate.ts), named apart from it so that the CLI's options load no tfjs. */
export type CandidateRuntime = 'mirror' | 'onnxruntime';
export const CANDIDATE_RUNTIMES: readonly CandidateRuntime[] = ['mirror', 'onnxruntime'];
