export {
  MAX_TEXT_LENGTH,
  PAIR_ID_PATTERN,
  transcriptEventSchema,
  parseTranscript,
  transcriptsChannel,
  encodeTranscript,
  decodeTranscript,
  type TranscriptRecord,
  type TranscriptInput,
  type ParseResult,
} from './schema.js';
export {
  PgTranscriptStore,
  type PgTranscriptStoreOptions,
  type TranscriptStore,
  type TranscriptReader,
  type TranscriptWriter,
  type StoredTranscript,
  type TranscriptCall,
  type ByPairOptions,
  type StoreDropReason,
  type TranscriptStoreStats,
} from './store.js';
export { TranscriptHub, type TranscriptHubEvents, type TranscriptHubOptions, type TranscriptHubStats, type HubDropReason } from './hub.js';
export { formatOffset, formatTranscriptLine, quote, printable, type PrintableTranscript } from './format.js';
