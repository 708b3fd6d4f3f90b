export { createMaskStream, JsonMasker, MaskError, type MaskOptions, type MaskReport } from './json-mask-stream.ts';
export { DETECTOR_NAMES, type DetectorName, EMPTY_MASK, isEmptyMask, type MaskSpec, type MaskStyle } from './spec.ts';
