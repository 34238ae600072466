export { verifyConfig, formatCheck, type VerifyConfigOptions } from './verify-config.js';
export type { CheckResult } from './checks.js';
