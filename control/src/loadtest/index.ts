export { runViaAriLoadTest, type ViaAriReport, type ViaAriRunOptions, type ViaAriProgress, type LatencySummary, type Leftovers } from './via-ari.js';
export { parseViaAriConfig, viaAriConfigSchema, type ViaAriConfig, type ViaAriConfigInput } from './via-ari-config.js';
export { formatViaAriReport, viaAriReportToJson, SETUP_P99_TARGET_MS } from './via-ari-report.js';
export { registerViaAriOptions, runViaAriCommand, viaAriOptionsFromFlags, type ViaAriFlags } from './cli.js';
export { CallTracker, type CallRecord, type CallOutcome, type PhoneProbe, type TrackerSummary } from './call-tracker.js';
export { AriServerMeter, type AriLoadSnapshot } from './ari-meter.js';
