export type ExtensionStatus = 'online' | 'offline' | 'unknown';

export interface PresenceUpdate {
  number: string;
  status: ExtensionStatus;
  at: Date;
  ip: string | null;
  source: 'ContactStatus' | 'DeviceStateChange' | 'snapshot';
}

export interface PresenceChange {
  number: string;
  previous: ExtensionStatus;
  status: ExtensionStatus;
  at: Date;
  ip: string | null;
  source: PresenceUpdate['source'];
}

export interface PresenceStore {
  /** Applies an update; returns the change if status/ip/time actually changed, null otherwise (unknown numbers → null, logged). 'online' sets last_registered_at/ip. */
  apply(update: PresenceUpdate): Promise<PresenceChange | null>;
  /** All numbers with their current status (for snapshot reconciliation). */
  statuses(): Promise<Map<string, ExtensionStatus>>;
}
