export { buildCallRecord, callRecording, legRecord, type CallRecord, type CallLegRecord, type CallRecording } from './call-record.js';
export { RecordingJoin } from './recording-join.js';
export {
  normalizeQuery,
  DEFAULT_CALL_RECORDS_LIMIT,
  MAX_CALL_RECORDS_LIMIT,
  type CallRecordQuery,
  type CallRecordReader,
} from './call-record-query.js';
export { CallRecords, type CallRecordsOptions, type CallRecordsStats, type CallRecordSource } from './call-records.js';
export { PgCallRecordStore, describePgError, type PgCallRecordStoreOptions, type PgCallRecordStoreStats, type CallRecordDropReason } from './pg-call-record-store.js';
export { RecentCallRecords } from './recent-call-records.js';
export { eModel, mosFromR, estimateCallQuality, CODEC_IMPAIRMENT, G107_DEFAULTS, type EModelParameters, type EModelResult, type CallQuality, type CallQualityInput } from './e-model.js';
export { formatCallTable, formatDuration, parseSince, qualityOf } from './format.js';
