export { runViaAriLoadTest, type ViaAriReport, type ViaAriRunOptions, type ViaAriProgress, type LatencySummary, type Leftovers, type TandemCpu } from './via-ari.js';
export { parseViaAriConfig, viaAriConfigSchema, TANDEM_START_ARI_BOUND, type ViaAriConfig, type ViaAriConfigInput } from './via-ari-config.js';
export { formatViaAriReport, viaAriReportToJson, SETUP_P99_TARGET_MS } from './via-ari-report.js';
export { registerViaAriOptions, runViaAriCommand, viaAriOptionsFromFlags, type ViaAriFlags } from './cli.js';
export { CallTracker, type CallRecord, type CallOutcome, type PhoneProbe, type TrackerSummary } from './call-tracker.js';
export { AriServerMeter, type AriLoadSnapshot, type AriServerMeterOptions, type ServedRequest } from './ari-meter.js';
export {
  SetupObserver,
  classifyAriRequest,
  SETUP_STEPS,
  SETUP_STEP_MEANING,
  type AriOp,
  type AriOpStats,
  type ClassifiedRequest,
  type SetupStep,
  type SetupObserverListener,
  type MediaStatsSource,
} from './setup-observer.js';
export { TandemProcess, packageRoot, tandemStartCommand, type TandemProcessOptions, type TandemExit } from './tandem-process.js';
export {
  countUdpSockets,
  machineBusyPct,
  processCpu,
  readMachineTimes,
  readProcessTimes,
  type MachineTimes,
  type ProcessCpu,
  type ProcessTimes,
} from './process-stats.js';
