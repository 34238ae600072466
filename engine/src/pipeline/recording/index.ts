export {
  PairRecorder,
  PairRecorderOptionsSchema,
  RecordingConfigSchema,
  RecordingChannels,
  type PairRecorderOptions,
  type PairRecorderDeps,
  type RecordingConfig,
  type RecordingChannel,
  type RecordingDropReason,
  type RecordingStats,
  type RecordingSummary,
} from './pair-recorder.js';
export { openFileSink, RECORDING_FILE_MODE, type RecordingSink, type RecordingSinkOpener } from './sink.js';
export { wavHeader, MAX_WAV_DATA_BYTES, WAV_HEADER_BYTES, WAV_UNKNOWN_SIZE, type WavFormat } from './wav.js';
