import type { Migration } from './types.js';

/**
 * The language an extension's user speaks (BCP 47, e.g. "es-MX"), for
 * translated calls (docs/cascade.md): a call takes party A's language from the
 * caller's extension and party B's from the pair's, unless the dialplan or the
 * API say otherwise. NULL: the node's default (TANDEM_LANG_A / TANDEM_LANG_B).
 * The CHECK is the same tag shape the translation settings accept.
 */
export const migration006: Migration = {
  id: 6,
  name: 'extension_language',
  sql: `
ALTER TABLE extensions
  ADD COLUMN language varchar(35)
  CHECK (language IS NULL OR language ~ '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$');
`,
};
