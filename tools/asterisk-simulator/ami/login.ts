/**
 * The simulator's AMI Login, as recorded from Asterisk: a good secret answers Success, then
 * FullyBooted, and raises SuccessfulAuth; a bad one raises InvalidPassword/InvalidAccountID at once but
 * answers "Authentication failed" and closes only after a delay, during which the session answers
 * nothing (Asterisk's session thread sleeps).
 */
import { serializeAmiMessage, type AmiField, type AmiMessage } from '../../../control/src/ami/message.js';
import { amiSecurityFields, eventTv, fullyBootedFields } from './event-fields.js';
import { replyTo, type Session } from './session.js';

export interface LoginContext {
  /** Username → secret. */
  accounts: Record<string, string>;
  /** Date.now() when the simulator started (FullyBooted's Uptime). */
  startedAt: number;
  failedLoginDelayMs: number;
  /** Sends an event to every logged-in session. */
  broadcast(fields: readonly AmiField[]): void;
}

export function handleLogin(session: Session, message: AmiMessage, ctx: LoginContext): void {
  const id = message.actionId;
  const username = message.get('Username') ?? '';
  const secret = message.get('Secret') ?? '';
  const known = Object.hasOwn(ctx.accounts, username);
  if (known && ctx.accounts[username] === secret) {
    session.state = 'loggedIn';
    session.username = username;
    replyTo(session, id, [['Response', 'Success'], ['Message', 'Authentication accepted']]);
    session.socket.write(serializeAmiMessage(fullyBootedFields(Math.floor((Date.now() - ctx.startedAt) / 1000))));
    ctx.broadcast(
      amiSecurityFields(session.id, session.socket, 'SuccessfulAuth', 'Informational', '1', [['AccountID', username]], [
        ['UsingPassword', '0'],
        ['SessionTV', eventTv(new Date())],
      ]),
    );
    return;
  }
  session.state = 'loginFailing';
  ctx.broadcast(
    amiSecurityFields(session.id, session.socket, known ? 'InvalidPassword' : 'InvalidAccountID', 'Error', known ? '2' : '1', [['AccountID', username]], [
      ['SessionTV', '1970-01-01T00:00:00.000+0000'],
    ]),
  );
  session.loginTimer = setTimeout(() => {
    session.loginTimer = null;
    if (session.state === 'closed') return;
    replyTo(session, id, [['Response', 'Error'], ['Message', 'Authentication failed']]);
    session.socket.end();
  }, ctx.failedLoginDelayMs);
}
