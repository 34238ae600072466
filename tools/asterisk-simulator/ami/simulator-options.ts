import type { AmiField } from '../../../control/src/ami/message.js';

export interface SimEndpointConfig {
  id: string;
  callerid?: string;
  context?: string;
  allow?: string;
  username?: string;
  password?: string;
  maxContacts?: number;
  /** Default 10, as in the recording; 0 means contacts stay NonQualified. */
  qualifyFrequency?: number;
  removeExisting?: boolean;
}

export interface AmiSimulatorOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** username → secret. Default `{ tnd: 'tnd' }` as in the recordings. */
  accounts?: Readonly<Record<string, string>>;
  /** Delay before a failed Login is answered (recorded ≈ 1 s). */
  failedLoginDelayMs?: number;
  endpoints?: readonly SimEndpointConfig[];
  /** Sorcery memory caches that exist; when unset, every cache name is accepted. */
  sorceryCaches?: readonly string[];
}

export interface RegisterOptions {
  /** Contact URI, e.g. `sip:7000@127.0.0.1:5086`. */
  uri: string;
  /** Source address and port of the REGISTER (Via). */
  ip: string;
  port: number;
  userAgent?: string;
  roundtripUsec?: number;
  expiresSec?: number;
  callId?: string;
}

export interface SimActionRecord {
  session: number;
  action: string;
  fields: readonly AmiField[];
}

export interface SorceryExpireRecord {
  cache: string;
  object: string;
}
