export { ensureNativeBuild, nativePaths, needsBuild, type NativePaths } from './native-build.js';
export {
  runNativeHotPath,
  runNativeCodecDump,
  runNativeParse,
  codecChecksum,
  type NativeBenchResult,
  type NativeCodecDump,
  type NativeParseResult,
} from './native-hot-path.js';
export { compareHotPath, timeBatched, COMPARED_OPERATIONS, HOT_PATH_OPERATION, type OperationComparison, type OperationRound } from './hot-path-compare.js';
export { RelayProcess, type RelayMode, type RelayOptions, type RelayStats, type RelayEndpoint } from './relay-process.js';
export { GeneratorLink } from '../../media-load/generator-link.js';
export { runRelayLoadTest, relayVariant, type RelayLoadTestOptions, type RelayLoadReport, type RelayVariant } from './relay-load-test.js';
export { nodeRelayLaunch, type RelayLaunch } from './node-relay-launch.js';
export { runNative, searchSustainedPairs, describeRun, MIN_PROBE_PAIRS, type SearchPlan, type SearchSide, type NativeRunOptions, type NativeBenchReport, type BenchMachine, type EngineComparison, type EngineRun, type PairsSearch } from './run-native.js';
