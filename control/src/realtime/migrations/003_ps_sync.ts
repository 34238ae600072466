import type { Migration } from './types.js';

/**
 * The extensions → ps_* mapping lives in the database, as one set-based function
 * called by triggers on `extensions`. Why a trigger and not only the service: any program
 * that writes `extensions` directly (an admin with psql, a provisioning script)
 * then keeps ps_* right in the same transaction, and the service, the trigger and
 * `syncAll` share one mapping instead of two that can drift.
 *
 * The triggers are statement-level with transition tables, so a bulk write by
 * another program is as fast as syncAll (one set-based call per statement).
 *
 * Rules (number = endpoint id = aor id = auth id):
 *   enabled  → ps_aors, ps_auths, ps_endpoints rows upserted (only when a value differs);
 *   disabled or deleted → all three rows deleted, so Asterisk refuses the extension.
 * Deployment-wide values (transport name, qualify_frequency) come from the
 * one-row table tandem_realtime_settings, written by applyRealtimeSettings().
 */
export const migration003: Migration = {
  id: 3,
  name: 'ps_sync_trigger',
  sql: `
CREATE TABLE tandem_realtime_settings (
  id                smallint    PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  transport         varchar(40) NOT NULL DEFAULT 'transport-udp' CHECK (transport <> ''),
  -- 0 would leave contacts NonQualified forever (no Reachable/Unreachable): refuse it
  qualify_frequency integer     NOT NULL DEFAULT 30 CHECK (qualify_frequency > 0),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
INSERT INTO tandem_realtime_settings (id) VALUES (1);

-- Caller ID as Asterisk parses it: "Name" <number>, or <number> without a name.
-- Names never contain quotes, backslashes or angle brackets (validated, and
-- checked below for direct writes), so no escaping is needed.
CREATE FUNCTION tandem_callerid(p_name text, p_number text) RETURNS text
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT CASE
    WHEN p_name IS NULL OR p_name = '' THEN '<' || p_number || '>'
    ELSE '"' || p_name || '" <' || p_number || '>'
  END
$fn$;

ALTER TABLE extensions ADD CONSTRAINT extensions_display_name_chars
  CHECK (display_name IS NULL OR display_name !~ '["\\\\<>[:cntrl:]]');

CREATE FUNCTION tandem_ps_sync(p_numbers text[]) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  s tandem_realtime_settings%ROWTYPE;
BEGIN
  SELECT * INTO STRICT s FROM tandem_realtime_settings WHERE id = 1;

  -- endpoint first: without it Asterisk refuses the extension even if aor/auth linger
  DELETE FROM ps_endpoints p WHERE p.id = ANY (p_numbers)
    AND NOT EXISTS (SELECT 1 FROM extensions e WHERE e.number = p.id AND e.enabled);
  DELETE FROM ps_auths p WHERE p.id = ANY (p_numbers)
    AND NOT EXISTS (SELECT 1 FROM extensions e WHERE e.number = p.id AND e.enabled);
  DELETE FROM ps_aors p WHERE p.id = ANY (p_numbers)
    AND NOT EXISTS (SELECT 1 FROM extensions e WHERE e.number = p.id AND e.enabled);

  INSERT INTO ps_aors AS t (id, max_contacts, remove_existing, qualify_frequency)
  SELECT e.number, 1, 'yes', s.qualify_frequency
    FROM extensions e WHERE e.number = ANY (p_numbers) AND e.enabled
  ON CONFLICT (id) DO UPDATE SET
    max_contacts = EXCLUDED.max_contacts,
    remove_existing = EXCLUDED.remove_existing,
    qualify_frequency = EXCLUDED.qualify_frequency
  WHERE (t.max_contacts, t.remove_existing, t.qualify_frequency)
    IS DISTINCT FROM (EXCLUDED.max_contacts, EXCLUDED.remove_existing, EXCLUDED.qualify_frequency);

  INSERT INTO ps_auths AS t (id, auth_type, username, password)
  SELECT e.number, 'userpass', e.number, e.password
    FROM extensions e WHERE e.number = ANY (p_numbers) AND e.enabled
  ON CONFLICT (id) DO UPDATE SET
    auth_type = EXCLUDED.auth_type,
    username = EXCLUDED.username,
    password = EXCLUDED.password
  WHERE (t.auth_type, t.username, t.password)
    IS DISTINCT FROM (EXCLUDED.auth_type, EXCLUDED.username, EXCLUDED.password);

  INSERT INTO ps_endpoints AS t (id, transport, aors, auth, context, disallow, allow, direct_media,
      dtmf_mode, callerid, mailboxes, rtp_symmetric, force_rport, rewrite_contact)
  SELECT e.number, s.transport, e.number, e.number, e.context, 'all', array_to_string(e.codecs, ','), 'no',
      'rfc4733', tandem_callerid(e.display_name, e.number), e.voicemail, 'yes', 'yes', 'yes'
    FROM extensions e WHERE e.number = ANY (p_numbers) AND e.enabled
  ON CONFLICT (id) DO UPDATE SET
    transport = EXCLUDED.transport, aors = EXCLUDED.aors, auth = EXCLUDED.auth,
    context = EXCLUDED.context, disallow = EXCLUDED.disallow, allow = EXCLUDED.allow,
    direct_media = EXCLUDED.direct_media, dtmf_mode = EXCLUDED.dtmf_mode,
    callerid = EXCLUDED.callerid, mailboxes = EXCLUDED.mailboxes,
    rtp_symmetric = EXCLUDED.rtp_symmetric, force_rport = EXCLUDED.force_rport,
    rewrite_contact = EXCLUDED.rewrite_contact
  WHERE (t.transport, t.aors, t.auth, t.context, t.disallow, t.allow, t.direct_media, t.dtmf_mode,
         t.callerid, t.mailboxes, t.rtp_symmetric, t.force_rport, t.rewrite_contact)
    IS DISTINCT FROM
        (EXCLUDED.transport, EXCLUDED.aors, EXCLUDED.auth, EXCLUDED.context, EXCLUDED.disallow,
         EXCLUDED.allow, EXCLUDED.direct_media, EXCLUDED.dtmf_mode, EXCLUDED.callerid,
         EXCLUDED.mailboxes, EXCLUDED.rtp_symmetric, EXCLUDED.force_rport, EXCLUDED.rewrite_contact);
END
$fn$;

-- Statement-level triggers with transition tables: a bulk INSERT/UPDATE/DELETE of
-- 10,000 extensions costs one set-based tandem_ps_sync call, not 10,000.
CREATE FUNCTION tandem_extensions_ps_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM tandem_ps_sync(ARRAY(SELECT number::text FROM tandem_new_rows));
  RETURN NULL;
END
$fn$;

CREATE FUNCTION tandem_extensions_ps_after_delete() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM tandem_ps_sync(ARRAY(SELECT number::text FROM tandem_old_rows));
  RETURN NULL;
END
$fn$;

-- Only numbers whose mapped columns changed (or that appeared/disappeared through
-- renumbering) are synced, so presence updates (status, last_registered_*) cost
-- one join over the transition tables and never touch ps_*.
CREATE FUNCTION tandem_extensions_ps_after_update() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  changed text[];
BEGIN
  SELECT array_agg(DISTINCT x.number) INTO changed FROM (
    SELECT coalesce(n.number, o.number)::text AS number
      FROM tandem_old_rows o FULL JOIN tandem_new_rows n ON n.number = o.number
     WHERE o.number IS NULL OR n.number IS NULL
        OR (o.display_name, o.password, o.context, o.codecs, o.voicemail, o.enabled)
           IS DISTINCT FROM (n.display_name, n.password, n.context, n.codecs, n.voicemail, n.enabled)
  ) x;
  IF changed IS NOT NULL THEN
    PERFORM tandem_ps_sync(changed);
  END IF;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER extensions_ps_sync_insert
  AFTER INSERT ON extensions REFERENCING NEW TABLE AS tandem_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tandem_extensions_ps_after_insert();

CREATE TRIGGER extensions_ps_sync_update
  AFTER UPDATE ON extensions REFERENCING OLD TABLE AS tandem_old_rows NEW TABLE AS tandem_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tandem_extensions_ps_after_update();

CREATE TRIGGER extensions_ps_sync_delete
  AFTER DELETE ON extensions REFERENCING OLD TABLE AS tandem_old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tandem_extensions_ps_after_delete();

CREATE FUNCTION tandem_extensions_touch() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$fn$;

CREATE TRIGGER extensions_touch
  BEFORE UPDATE OF number, display_name, password, context, codecs, voicemail, enabled, kind ON extensions
  FOR EACH ROW
  WHEN ((OLD.number, OLD.display_name, OLD.password, OLD.context, OLD.codecs, OLD.voicemail, OLD.enabled, OLD.kind)
        IS DISTINCT FROM
        (NEW.number, NEW.display_name, NEW.password, NEW.context, NEW.codecs, NEW.voicemail, NEW.enabled, NEW.kind))
  EXECUTE FUNCTION tandem_extensions_touch();
`,
};
