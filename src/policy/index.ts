export { deriveArmFacts } from './arm-operation.ts';
export { BUNDLE_FORMAT, bundleFromPolicy, openSignedBundle, type PolicyBundle } from './bundle.ts';
export {
  type CompiledPolicy,
  type CompileResult,
  canonicalJson,
  compilePathPattern,
  compilePolicy,
  compilePolicyDocument,
} from './compile.ts';
export { type Decision, evaluatePolicy, type PolicyRequest, principalMatches, type RuleMatch } from './evaluate.ts';
export { deriveKubernetesFacts } from './kubernetes-request.ts';
export { EMPTY_REWRITE, type RewriteSpec } from './obligations.ts';
export { describeRequest } from './request-facts.ts';
export type { ApprovalSpec, ConnectionSource, JsonPatchOp, PolicySource } from './schema.ts';
