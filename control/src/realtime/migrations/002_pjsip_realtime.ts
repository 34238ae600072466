import type { Migration } from './types.js';

/**
 * The PJSIP realtime tables, with Asterisk's column names and value types
 * (contrib/realtime/postgresql/postgresql_config.sql, i.e. the alembic head):
 * enum-typed yes/no columns hold the strings 'yes'/'no'. Only the columns Tandem
 * writes plus the commonly used ones exist in ps_endpoints/ps_aors/ps_auths;
 * realtime reads SELECT *, so a missing optional column just means its default.
 * ps_contacts has every column Asterisk 22 writes (needed only with
 * `contact=realtime,ps_contacts` in sorcery.conf): a missing one makes its INSERT fail.
 *
 * Ids are a few widths wider than Asterisk's own schema where our data can be
 * longer (callerid with a 64-character name); Asterisk reads strings of any width.
 * The tables are created without IF NOT EXISTS on purpose: pointing Tandem at a
 * database whose ps_* tables were made by someone else must fail loudly, not run
 * against columns of unknown types.
 */
export const migration002: Migration = {
  id: 2,
  name: 'pjsip_realtime',
  sql: `
DO $types$
BEGIN
  IF to_regtype('yesno_values') IS NULL THEN
    CREATE TYPE yesno_values AS ENUM ('yes', 'no');
  END IF;
  IF to_regtype('ast_bool_values') IS NULL THEN
    CREATE TYPE ast_bool_values AS ENUM ('0', '1', 'off', 'on', 'false', 'true', 'no', 'yes');
  END IF;
  IF to_regtype('pjsip_dtmf_mode_values_v3') IS NULL THEN
    CREATE TYPE pjsip_dtmf_mode_values_v3 AS ENUM ('rfc4733', 'inband', 'info', 'auto', 'auto_info');
  END IF;
  IF to_regtype('pjsip_auth_type_values_v2') IS NULL THEN
    CREATE TYPE pjsip_auth_type_values_v2 AS ENUM ('md5', 'userpass', 'google_oauth');
  END IF;
END
$types$;

CREATE TABLE ps_endpoints (
  id                        varchar(40) NOT NULL PRIMARY KEY,
  transport                 varchar(40),
  aors                      varchar(200),
  auth                      varchar(40),
  outbound_auth             varchar(40),
  context                   varchar(80),
  disallow                  varchar(200),
  allow                     varchar(200),
  direct_media              yesno_values,
  dtmf_mode                 pjsip_dtmf_mode_values_v3,
  callerid                  varchar(255),
  mailboxes                 varchar(80),
  rtp_symmetric             yesno_values,
  force_rport               yesno_values,
  rewrite_contact           yesno_values,
  media_address             varchar(40),
  bind_rtp_to_media_address yesno_values,
  identify_by               varchar(80),
  from_user                 varchar(40),
  from_domain               varchar(40),
  language                  varchar(40),
  rtp_timeout               integer,
  rtp_timeout_hold          integer
);

CREATE TABLE ps_auths (
  id             varchar(40) NOT NULL PRIMARY KEY,
  auth_type      pjsip_auth_type_values_v2,
  nonce_lifetime integer,
  md5_cred       varchar(40),
  password       varchar(128),
  realm          varchar(255),
  username       varchar(40),
  refresh_token  varchar(255),
  oauth_clientid varchar(255),
  oauth_secret   varchar(255),
  -- Asterisk 22 digest algorithms (RFC 8760); NULL = the global default (MD5)
  password_digest          varchar(1024),
  supported_algorithms_uas varchar(1024),
  supported_algorithms_uac varchar(1024)
);

CREATE TABLE ps_aors (
  id                   varchar(40) NOT NULL PRIMARY KEY,
  contact              varchar(255),
  default_expiration   integer,
  mailboxes            varchar(80),
  max_contacts         integer,
  minimum_expiration   integer,
  maximum_expiration   integer,
  remove_existing      yesno_values,
  remove_unavailable   ast_bool_values,
  qualify_frequency    integer,
  qualify_timeout      float,
  qualify_2xx_only     ast_bool_values,
  authenticate_qualify yesno_values,
  outbound_proxy       varchar(40),
  support_path         yesno_values,
  voicemail_extension  varchar(40)
);
CREATE INDEX ps_aors_qualifyfreq_contact ON ps_aors (qualify_frequency, contact);

CREATE TABLE ps_contacts (
  id                   varchar(255) NOT NULL,
  uri                  varchar(511),
  expiration_time      bigint,
  qualify_frequency    integer,
  qualify_timeout      float,
  qualify_2xx_only     ast_bool_values,
  authenticate_qualify yesno_values,
  outbound_proxy       varchar(40),
  path                 text,
  user_agent           varchar(255),
  reg_server           varchar(255),
  via_addr             varchar(40),
  via_port             integer,
  call_id              varchar(255),
  endpoint             varchar(40),
  prune_on_boot        yesno_values,
  CONSTRAINT ps_contacts_id_key UNIQUE (id),
  CONSTRAINT ps_contacts_uq UNIQUE (id, reg_server)
);
CREATE INDEX ps_contacts_qualifyfreq_exp ON ps_contacts (qualify_frequency, expiration_time);
`,
};
