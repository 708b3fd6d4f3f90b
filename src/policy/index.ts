export { type CompiledPolicy, type CompileResult, compilePolicy } from './compile.ts';
export { type Decision, evaluatePolicy, type PolicyRequest, principalMatches } from './evaluate.ts';
export type { ApprovalSpec, ConnectionSource, PolicySource } from './schema.ts';
