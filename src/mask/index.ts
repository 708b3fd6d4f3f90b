export { AZURE_MASK_DEFAULTS, type AzureMaskDefault } from './azure-defaults.ts';
export { DETECTORS, type Detector } from './detectors.ts';
export {
  type CompiledMask,
  compileMask,
  createMasker,
  type Framing,
  JsonMasker,
  MaskError,
  type MaskOptions,
  type MaskReport,
} from './json-mask-stream.ts';
export { maskBody } from './mask-body.ts';
export { MASKABLE_ACCEPT_ENCODING, type MaskResponseResult, maskResponse } from './mask-response.ts';
export { hmacKeyFromSecret, maskSpecFromDecision } from './policy-adapter.ts';
export {
  DETECTOR_NAMES,
  type DetectorName,
  EMPTY_MASK,
  isEmptyMask,
  type MaskSpec,
  type MaskStyle,
  mergeMasks,
} from './spec.ts';
