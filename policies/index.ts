export * from './types.ts';
export { maskValue } from './masks.ts';
export { checkPurpose, type PurposeCheck } from './purpose.ts';
export { compilePolicy, grantInForce, grantApplies, type CompiledPolicy, type HubAbility, type Action } from './ability.ts';
export { decideRead, decideVerify, type DecisionContext } from './decide.ts';
