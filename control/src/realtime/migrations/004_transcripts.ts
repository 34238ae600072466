import type { Migration } from './types.js';

/**
 * Final transcript results (control/src/transcripts/, docs/transcripts.md).
 * Widths are the validation limits of transcripts/schema.ts, so a failing CHECK
 * means another program wrote the row.
 *
 * A PAIR_ID serves many calls over time, so a row also carries the call it
 * belongs to (`call_id`, NULL when the publisher did not know it). The unique
 * index makes a replayed final an update of the same row, not a second row;
 * COALESCE puts rows without a call id in one scope, since NULLs never
 * conflict in a plain unique index.
 */
export const migration004: Migration = {
  id: 4,
  name: 'transcripts',
  sql: `
CREATE TABLE transcripts (
  id              bigserial    PRIMARY KEY,
  call_id         varchar(200) CHECK (call_id <> ''),
  pair_id         varchar(64)  NOT NULL CHECK (pair_id <> ''),
  src_ext         varchar(32)  NOT NULL CHECK (src_ext <> ''),
  dst_ext         varchar(32)  NOT NULL CHECK (dst_ext <> ''),
  direction       varchar(4)   NOT NULL CHECK (direction IN ('A->B', 'B->A')),
  utterance_id    varchar(200) NOT NULL CHECK (utterance_id <> ''),
  language        varchar(35)  NOT NULL,
  text            text         NOT NULL,
  target_language varchar(35)  NOT NULL,
  translated_text text,
  start_ms        bigint       NOT NULL,
  end_ms          bigint       NOT NULL,
  created_at      timestamptz  NOT NULL DEFAULT now(),
  CONSTRAINT transcripts_times CHECK (start_ms >= 0 AND end_ms >= start_ms)
);
CREATE UNIQUE INDEX transcripts_utterance_key ON transcripts ((coalesce(call_id, '')), pair_id, direction, utterance_id);
CREATE INDEX transcripts_pair_time_idx ON transcripts (pair_id, created_at);
-- retention (DELETE … WHERE created_at < …) and "everything since" queries
CREATE INDEX transcripts_time_idx ON transcripts (created_at);
`,
};
