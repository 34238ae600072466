import { migration001 } from './001_extensions.js';
import { migration002 } from './002_pjsip_realtime.js';
import { migration003 } from './003_ps_sync.js';
import { migration004 } from './004_transcripts.js';
import { migration005 } from './005_call_records.js';
import { migration006 } from './006_extension_language.js';
import { migration007 } from './007_call_record_recording.js';
import type { Migration } from './types.js';

export type { Migration } from './types.js';

/** Every migration, in the order they run. Never edit one that shipped: add a new one. */
export const MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003, migration004, migration005, migration006, migration007];
