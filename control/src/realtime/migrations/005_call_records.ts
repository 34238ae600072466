import type { Migration } from './types.js';

/**
 * One row per finished call (control/src/records/, docs/call-records.md).
 * The columns are what billing and reports filter and sort on; each leg's
 * counters and quality (packets, loss, jitter, depth, drops by reason,
 * translation counters, MOS) are in `legs`, whose keys may grow without a
 * migration. Durations are bigint: a record is never refused for its size.
 *
 * `GET /v1/calls?since=` reads by end time (a record exists once its call
 * ended), reports by start time, and a pair's history by pair and start.
 */
export const migration005: Migration = {
  id: 5,
  name: 'call_records',
  sql: `
CREATE TABLE call_records (
  id              uuid         PRIMARY KEY,
  pair_id         varchar(64)  NOT NULL CHECK (pair_id <> ''),
  call_id         varchar(200) NOT NULL CHECK (call_id <> ''),
  ext_a           varchar(32)  NOT NULL CHECK (ext_a <> ''),
  ext_b           varchar(32)  NOT NULL CHECK (ext_b <> ''),
  caller          varchar(128),
  node            varchar(255) NOT NULL,
  started_at      timestamptz  NOT NULL,
  answered_at     timestamptz,
  ended_at        timestamptz  NOT NULL,
  duration_ms     bigint       NOT NULL CHECK (duration_ms >= 0),
  talk_ms         bigint       CHECK (talk_ms >= 0),
  setup_ms        bigint,
  teardown_ms     bigint       NOT NULL CHECK (teardown_ms >= 0),
  hangup_by       varchar(8)   NOT NULL CHECK (hangup_by IN ('caller', 'legb', 'tandem')),
  hangup_cause    smallint,
  teardown_reason varchar(32)  NOT NULL CHECK (teardown_reason <> ''),
  codec           varchar(16)  NOT NULL,
  translated      boolean      NOT NULL,
  mos_a           double precision CHECK (mos_a BETWEEN 1 AND 4.5),
  mos_b           double precision CHECK (mos_b BETWEEN 1 AND 4.5),
  legs            jsonb,
  created_at      timestamptz  NOT NULL DEFAULT now()
);
CREATE INDEX call_records_started_idx ON call_records (started_at);
CREATE INDEX call_records_ended_idx ON call_records (ended_at);
CREATE INDEX call_records_pair_started_idx ON call_records (pair_id, started_at);
`,
};
