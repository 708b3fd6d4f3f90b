export { createMaskStream, JsonMasker, MaskError, type MaskOptions, type MaskReport } from './json-mask-stream.ts';
