import type { Migration } from './types.js';

/**
 * Tandem's own table: what an operator edits. The PJSIP realtime rows Asterisk
 * reads are derived from it (002, 003). Widths here are the validation limits of
 * extension-schema.ts, so a CHECK failure means another program wrote bad data.
 */
export const migration001: Migration = {
  id: 1,
  name: 'extensions',
  sql: `
CREATE TABLE extensions (
  number             varchar(40)  PRIMARY KEY CHECK (number ~ '^[0-9]+$'),
  display_name       varchar(64),
  password           varchar(128) NOT NULL CHECK (password <> ''),
  context            varchar(80)  NOT NULL CHECK (context <> ''),
  codecs             text[]       NOT NULL DEFAULT ARRAY['ulaw', 'alaw'] CHECK (cardinality(codecs) > 0),
  voicemail          varchar(80),
  enabled            boolean      NOT NULL DEFAULT true,
  kind               varchar(8)   NOT NULL DEFAULT 'user' CHECK (kind IN ('user', 'pair')),
  status             varchar(8)   NOT NULL DEFAULT 'unknown' CHECK (status IN ('online', 'offline', 'unknown')),
  -- time of the presence event that set status; older events never overwrite newer ones
  status_at          timestamptz,
  last_registered_at timestamptz,
  last_registered_ip varchar(64),
  created_at         timestamptz  NOT NULL DEFAULT now(),
  updated_at         timestamptz  NOT NULL DEFAULT now()
);
CREATE INDEX extensions_pair_idx ON extensions (number) WHERE kind = 'pair';
`,
};
