import type { Migration } from './types.js';

/**
 * A call's recording on its record (docs/recordings.md): the finished file's path on the node that
 * recorded it, its format, size and length, so the console and `tandem calls` find it after a restart.
 * The file is usually complete after the record was first stored (the WAV closes with the pair, Opus
 * encoding follows), so the columns are filled by a later UPDATE; all four are set together or none.
 */
export const migration007: Migration = {
  id: 7,
  name: 'call_record_recording',
  sql: `
ALTER TABLE call_records
  ADD COLUMN recording_path        text   CHECK (recording_path <> '' AND length(recording_path) <= 4096),
  ADD COLUMN recording_format      varchar(8) CHECK (recording_format IN ('wav', 'opus')),
  ADD COLUMN recording_bytes       bigint CHECK (recording_bytes >= 0),
  ADD COLUMN recording_duration_ms bigint CHECK (recording_duration_ms >= 0),
  ADD CONSTRAINT call_records_recording_whole
    CHECK (num_nulls(recording_path, recording_format, recording_bytes, recording_duration_ms) IN (0, 4));
`,
};
