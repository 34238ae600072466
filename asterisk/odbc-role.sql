-- odbc-role.sql — the PostgreSQL role Asterisk logs in as through ODBC, with
-- exactly what it needs: read ps_endpoints, ps_auths and ps_aors (and, only
-- with `contact=realtime,ps_contacts` in sorcery.conf, write ps_contacts).
-- Never access to `extensions`: that table is Tandem's own.
--
-- Run it with psql against Tandem's database (after `tandem migrate`), as a
-- role that may create roles and owns the tables (e.g. the one in DATABASE_URL,
-- or postgres):
--
--   psql "$DATABASE_URL" -v role=asterisk -v password='…' -f asterisk/odbc-role.sql
--   psql "$DATABASE_URL" -v role=asterisk -v password='…' -v contacts=1 -f asterisk/odbc-role.sql
--
-- MUST MATCH: role and password = `username`/`password` in res_odbc.conf and
-- `Username`/`Password` in odbc.ini. Running it again is harmless: it sets
-- the password anew and grants what is missing. Check with `tandem verify-config`
-- (`--odbc-user` if the role is not called asterisk).

\set ON_ERROR_STOP on
\if :{?role}
\else
  \set role asterisk
\endif
\if :{?password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'odbc-role.sql: give the password Asterisk will use: psql ... -v password=...'; END $$;
\endif

-- CREATE ROLE has no IF NOT EXISTS; \gexec runs the statement only when the query returns it.
SELECT format('CREATE ROLE %I', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'role', :'password') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'role') \gexec
SELECT format('GRANT USAGE ON SCHEMA %I TO %I', n.nspname, :'role')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.oid = 'ps_endpoints'::regclass \gexec
GRANT SELECT ON ps_endpoints, ps_auths, ps_aors TO :"role";
\if :{?contacts}
GRANT SELECT, INSERT, UPDATE, DELETE ON ps_contacts TO :"role";
\endif
