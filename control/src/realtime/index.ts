export { createPgPool, withTransaction, DEFAULT_DATABASE_URL, type PgPoolOptions } from './db.js';
export { RealtimeError, type RealtimeErrorCode } from './errors.js';
export { migrate, schemaVersion, assertMigrated, migrationChecksum, MIGRATION_LOCK_KEY, type MigrateOptions, type MigrateResult } from './migrate.js';
export { MIGRATIONS, type Migration } from './migrations/index.js';
export {
  KNOWN_CODECS,
  isKnownCodec,
  DEFAULT_EXTENSION_POLICY,
  resolveExtensionPolicy,
  DEFAULT_REALTIME_SETTINGS,
  resolveRealtimeSettings,
  type Codec,
  type ExtensionPolicy,
  type RealtimeSettings,
} from './policy.js';
export {
  FIELD_LIMITS,
  type Extension,
  type ExtensionKind,
  type ExtensionCreateInput,
  type ExtensionUpdateInput,
} from './extension-schema.js';
export { ExtensionService, type ExtensionServiceOptions, type ListOptions } from './extension-service.js';
export { noopCacheExpirer, type CacheExpirer, type SorceryObjectType } from './cache-expirer.js';
export {
  syncAll,
  pruneOrphans,
  findInconsistencies,
  readRealtimeSettings,
  applyRealtimeSettings,
  type SyncOptions,
  type SyncProgress,
  type SyncResult,
} from './sync.js';
export {
  provisionPairs,
  readyPairExtensions,
  pairNumbers,
  generatePassword,
  type ProvisionPairsOptions,
  type ProvisionPairsResult,
} from './pairs.js';
export {
  PgPresenceStore,
  type PresenceStore,
  type PresenceUpdate,
  type PresenceChange,
  type ExtensionStatus,
} from './presence-store.js';
