import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { InvalidStateError, errorMessage } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';
import { AmiFramer } from '../../../control/src/ami/framer.js';
import { parseAmiMessage, serializeAmiMessage, type AmiField, type AmiMessage } from '../../../control/src/ami/message.js';
import type { SimContact, SimEndpoint } from './endpoint-render.js';
import {
  amiSecurityFields,
  contactStatusFields,
  deviceStateChangeFields,
  eventTv,
  peerStatusFields,
  pjsipSecurityFields,
} from './event-fields.js';
import { handleLogin, type LoginContext } from './login.js';
import { command, expireObject, showContacts, showEndpoint, type ActionReplies, type SimRegistry } from './query-actions.js';
import { replyTo, type Session } from './session.js';
import type { AmiSimulatorOptions, RegisterOptions, SimActionRecord, SimEndpointConfig, SorceryExpireRecord } from './simulator-options.js';

export type { AmiSimulatorOptions, RegisterOptions, SimActionRecord, SimEndpointConfig, SorceryExpireRecord } from './simulator-options.js';

const log = logger('simulator.ami');

export const AMI_BANNER = 'Asterisk Call Manager/11.0.0\r\n';

/**
 * An AMI server that speaks the wire format recorded from Asterisk 22.10.1
 * (`test/data/ami/s7_ami`): banner, Login/Ping/Logoff, PJSIPShowContacts,
 * PJSIPShowEndpoint, Command (`pjsip show endpoint <n>`), SorceryMemoryCache-
 * ExpireObject, and the registration event sequences, driven by the test API
 * (`register`, `qualifyTimeout`, `qualifyRestored`, `unregister`). Only
 * logged-in sessions receive events. Listens on 127.0.0.1 only by default.
 */
export class AmiSimulator {
  readonly #server: Server;
  readonly #sessions = new Set<Session>();
  readonly #accounts: Record<string, string>;
  readonly #failedLoginDelayMs: number;
  readonly #endpoints = new Map<string, SimEndpoint>();
  readonly #contacts = new Map<string, SimContact>();
  readonly #deviceState = new Map<string, 'NOT_INUSE' | 'UNAVAILABLE'>();
  readonly #sorceryCaches: ReadonlySet<string> | null;
  readonly #actions: SimActionRecord[] = [];
  readonly #expirations: SorceryExpireRecord[] = [];
  readonly #startedAt = Date.now();
  readonly #registry: SimRegistry = { endpoints: this.#endpoints, contacts: this.#contacts };
  readonly #login: LoginContext;
  #nextSessionId = 1;
  #responsive = true;
  #closed = false;
  #closing: Promise<void> | null = null;

  private constructor(server: Server, options: AmiSimulatorOptions) {
    this.#server = server;
    this.#accounts = { ...(options.accounts ?? { tnd: 'tnd' }) };
    this.#failedLoginDelayMs = options.failedLoginDelayMs ?? 1000;
    this.#login = {
      accounts: this.#accounts,
      startedAt: this.#startedAt,
      failedLoginDelayMs: this.#failedLoginDelayMs,
      broadcast: (fields) => this.#broadcast(fields),
    };
    this.#sorceryCaches = options.sorceryCaches ? new Set(options.sorceryCaches) : null;
    for (const e of options.endpoints ?? [{ id: '7000', callerid: '"Seven Thousand" <7000>' }]) this.addEndpoint(e);
    server.on('connection', (socket) => this.#accept(socket));
  }

  static async start(options: AmiSimulatorOptions = {}): Promise<AmiSimulator> {
    const server = createServer();
    const sim = new AmiSimulator(server, options);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return sim;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  get host(): string {
    return (this.#server.address() as AddressInfo).address;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Open TCP sessions (any state). */
  get connectionCount(): number {
    return this.#sessions.size;
  }

  get loggedInCount(): number {
    let n = 0;
    for (const s of this.#sessions) if (s.state === 'loggedIn') n++;
    return n;
  }

  /** Every action received, in order (Login secrets included: test use only). */
  get actions(): readonly SimActionRecord[] {
    return this.#actions;
  }

  get sorceryExpirations(): readonly SorceryExpireRecord[] {
    return this.#expirations;
  }

  contacts(): SimContact[] {
    return [...this.#contacts.values()].map((c) => ({ ...c }));
  }

  /** Adds or changes an AMI account (e.g. to let a client with a once-wrong secret in). */
  setAccount(username: string, secret: string): void {
    this.#accounts[username] = secret;
  }

  addEndpoint(config: SimEndpointConfig): void {
    this.#assertOpen();
    this.#endpoints.set(config.id, {
      id: config.id,
      callerid: config.callerid ?? '',
      context: config.context ?? 'from-sipp',
      allow: config.allow ?? '(ulaw)',
      username: config.username ?? config.id,
      password: config.password ?? config.id,
      maxContacts: config.maxContacts ?? 1,
      qualifyFrequency: config.qualifyFrequency ?? 10,
      removeExisting: config.removeExisting ?? true,
    });
  }

  /** Removes an endpoint row (as a DELETE in ps_endpoints would); its contact goes too, silently (no AMI event, as observed in s8). */
  removeEndpoint(id: string): boolean {
    this.#assertOpen();
    this.#contacts.delete(id);
    this.#deviceState.delete(id);
    return this.#endpoints.delete(id);
  }

  /**
   * A REGISTER accepted for `endpoint`. Recorded sequence (qualify_frequency > 0):
   * ChallengeSent, SuccessfulAuth, ContactStatus NonQualified (RoundtripUsec 0),
   * PeerStatus Reachable, ContactStatus Reachable (RoundtripUsec), DeviceStateChange
   * NOT_INUSE. A refresh of the same contact URI emits nothing (observed). A
   * different URI replaces the old contact (remove_existing; not recorded: the
   * old contact's unregister sequence is emitted first).
   */
  register(endpoint: string, options: RegisterOptions): void {
    this.#assertOpen();
    const ep = this.#requireEndpoint(endpoint);
    const expiresSec = options.expiresSec ?? 60;
    const existing = this.#contacts.get(endpoint);
    if (existing && existing.uri === options.uri) {
      existing.expirationTime = Math.floor(Date.now() / 1000) + expiresSec;
      return;
    }
    if (existing) this.unregister(endpoint);
    const callId = options.callId ?? `1-${Math.floor(Math.random() * 90000) + 10000}@${options.ip}`;
    const contact: SimContact = {
      endpoint,
      aor: ep.id,
      uri: options.uri,
      ip: options.ip,
      port: options.port,
      userAgent: options.userAgent ?? '',
      callId,
      status: 'NonQualified',
      roundtripUsec: 0,
      expirationTime: Math.floor(Date.now() / 1000) + expiresSec,
    };
    this.#contacts.set(endpoint, contact);
    const now = new Date();
    const from = { accountId: ep.username, callId, ip: options.ip, port: options.port };
    const pjsipSecurity = (event: string, extra: AmiField[]): AmiField[] => pjsipSecurityFields(event, now, from, extra);
    this.#broadcast(pjsipSecurity('ChallengeSent', [['Challenge', '']]));
    this.#broadcast(pjsipSecurity('SuccessfulAuth', [['UsingPassword', '1']]));
    this.#broadcast(contactStatusFields(contact, 'NonQualified', 0));
    if (ep.qualifyFrequency > 0) {
      contact.status = 'Reachable';
      contact.roundtripUsec = options.roundtripUsec ?? 369;
      this.#broadcast(peerStatusFields(endpoint, 'Reachable'));
      this.#broadcast(contactStatusFields(contact, 'Reachable', contact.roundtripUsec));
    }
    this.#setDeviceState(endpoint, 'NOT_INUSE');
  }

  /** The qualify OPTIONS got no answer: PeerStatus Unreachable, ContactStatus Unreachable (0), DeviceStateChange UNAVAILABLE. */
  qualifyTimeout(endpoint: string): void {
    this.#assertOpen();
    const contact = this.#requireContact(endpoint);
    contact.status = 'Unreachable';
    contact.roundtripUsec = 0;
    this.#broadcast(peerStatusFields(endpoint, 'Unreachable'));
    this.#broadcast(contactStatusFields(contact, 'Unreachable', 0));
    this.#setDeviceState(endpoint, 'UNAVAILABLE');
  }

  /** The qualify OPTIONS answered again: PeerStatus Reachable, ContactStatus Reachable (rtt), DeviceStateChange NOT_INUSE. */
  qualifyRestored(endpoint: string, roundtripUsec = 570): void {
    this.#assertOpen();
    const contact = this.#requireContact(endpoint);
    contact.status = 'Reachable';
    contact.roundtripUsec = roundtripUsec;
    this.#broadcast(peerStatusFields(endpoint, 'Reachable'));
    this.#broadcast(contactStatusFields(contact, 'Reachable', roundtripUsec));
    this.#setDeviceState(endpoint, 'NOT_INUSE');
  }

  /** REGISTER with Expires: 0: DeviceStateChange UNAVAILABLE, PeerStatus Unreachable, ContactStatus Removed (0). */
  unregister(endpoint: string): void {
    this.#assertOpen();
    const contact = this.#requireContact(endpoint);
    this.#contacts.delete(endpoint);
    this.#setDeviceState(endpoint, 'UNAVAILABLE');
    this.#broadcast(peerStatusFields(endpoint, 'Unreachable'));
    this.#broadcast(contactStatusFields(contact, 'Removed', 0));
  }

  /** Sends an arbitrary event to every logged-in session (for tests of unknown or malformed events). */
  emitRaw(fields: readonly AmiField[]): void {
    this.#assertOpen();
    this.#broadcast(fields);
  }

  /** Resets every TCP session at once, as an Asterisk restart or a network cut would. */
  dropConnections(): void {
    for (const s of [...this.#sessions]) s.socket.destroy();
  }

  /** When false, sessions stay open but every action goes unanswered (a hung Asterisk). */
  setResponsive(responsive: boolean): void {
    this.#responsive = responsive;
  }

  /** Stops listening and destroys every session; resolves once the server is fully closed. Idempotent. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#closing = new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.dropConnections();
    });
    return this.#closing;
  }

  #assertOpen(): void {
    if (this.#closed) throw new InvalidStateError('AMI simulator is closed');
  }

  #requireEndpoint(id: string): SimEndpoint {
    const ep = this.#endpoints.get(id);
    if (!ep) throw new InvalidStateError(`AMI simulator has no endpoint ${id}`);
    return ep;
  }

  #requireContact(endpoint: string): SimContact {
    const contact = this.#contacts.get(endpoint);
    if (!contact) throw new InvalidStateError(`endpoint ${endpoint} has no contact`);
    return contact;
  }

  /** Asterisk raises DeviceStateChange only when the state actually changes. */
  #setDeviceState(endpoint: string, state: 'NOT_INUSE' | 'UNAVAILABLE'): void {
    if (this.#deviceState.get(endpoint) === state) return;
    this.#deviceState.set(endpoint, state);
    this.#broadcast(deviceStateChangeFields(endpoint, state));
  }

  #broadcast(fields: readonly AmiField[]): void {
    const wire = serializeAmiMessage(fields);
    for (const s of this.#sessions) if (s.state === 'loggedIn') s.socket.write(wire);
  }

  #accept(socket: Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const session: Session = {
      id: this.#nextSessionId++,
      socket,
      framer: new AmiFramer({ expectBanner: false, maxFrameChars: 64 * 1024 }),
      state: 'awaitingLogin',
      username: '',
      connectedAt: new Date(),
      loginTimer: null,
    };
    this.#sessions.add(session);
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    socket.on('error', () => {
      // A client reset is normal for a test server; 'close' follows and cleans up.
    });
    socket.on('close', () => {
      session.state = 'closed';
      if (session.loginTimer) clearTimeout(session.loginTimer);
      this.#sessions.delete(session);
    });
    socket.on('data', (chunk: string) => {
      let frames;
      try {
        frames = session.framer.push(chunk);
      } catch (err) {
        log.warn({ session: session.id, err: errorMessage(err) }, 'bad AMI input, closing session');
        socket.destroy();
        return;
      }
      for (const frame of frames) {
        if (session.state === 'closed') return;
        try {
          this.#handle(session, parseAmiMessage(frame.raw));
        } catch (err) {
          log.warn({ session: session.id, err: errorMessage(err) }, 'unparseable AMI action ignored');
        }
      }
      if (session.framer.overflow) {
        log.warn({ session: session.id }, 'oversized AMI action, closing session');
        socket.destroy();
      }
    });
    socket.write(AMI_BANNER);
  }

  /** Where the query actions (query-actions.ts) write their answers to `session`. */
  #replies(session: Session): ActionReplies {
    return {
      reply: (id, fields) => replyTo(session, id, fields),
      write: (fields) => {
        session.socket.write(serializeAmiMessage(fields));
      },
    };
  }

  #handle(session: Session, message: AmiMessage): void {
    const action = message.get('Action') ?? '';
    this.#actions.push({ session: session.id, action, fields: message.fields });
    // A failing Login blocks the Asterisk session thread: the recording shows a Ping sent meanwhile never answered.
    if (session.state === 'loginFailing' || !this.#responsive) return;
    const id = message.actionId;
    const lower = action.toLowerCase();
    if (session.state !== 'loggedIn' && lower !== 'login' && lower !== 'logoff' && lower !== 'challenge') {
      replyTo(session, id, [['Response', 'Error'], ['Message', 'Permission denied']]);
      this.#broadcast(
        amiSecurityFields(session.id, session.socket, 'RequestNotAllowed', 'Error', '1', [['AccountID', '']], [
          ['RequestType', `Action: ${action}`],
          ['SessionTV', '1970-01-01T00:00:00.000+0000'],
        ]),
      );
      return;
    }
    switch (lower) {
      case 'login':
        handleLogin(session, message, this.#login);
        return;
      case 'logoff':
        replyTo(session, id, [['Response', 'Goodbye'], ['Message', 'Thanks for all the fish.']]);
        session.socket.end();
        return;
      case 'ping': {
        const now = Date.now();
        replyTo(session, id, [['Response', 'Success'], ['Ping', 'Pong'], ['Timestamp', `${Math.floor(now / 1000)}.${String((now % 1000) * 1000).padStart(6, '0')}`]]);
        return;
      }
      case 'pjsipshowcontacts':
        showContacts(this.#replies(session), this.#registry, id);
        return;
      case 'pjsipshowendpoint':
        showEndpoint(this.#replies(session), this.#registry, id, message.get('Endpoint') ?? '');
        return;
      case 'command':
        command(this.#replies(session), this.#registry, id, message.get('Command') ?? '');
        return;
      case 'sorcerymemorycacheexpireobject':
        expireObject(this.#replies(session), this.#sorceryCaches, this.#expirations, id, message.get('Cache') ?? '', message.get('Object') ?? '');
        return;
      default:
        replyTo(session, id, [['Response', 'Error'], ['Message', `Invalid/unknown command: ${action}. Use Action: ListCommands to show available commands.`]]);
        this.#broadcast(
          amiSecurityFields(session.id, session.socket, 'RequestBadFormat', 'Error', '1', [], [
            ['RequestType', `Action: ${action}`],
            ['SessionTV', eventTv(session.connectedAt)],
            ['AccountID', session.username],
          ]),
        );
    }
  }
}
