/** One AMI client connection of the simulator, and the reply framing every action uses. */
import type { Socket } from 'node:net';
import type { AmiFramer } from '../../../control/src/ami/framer.js';
import { serializeAmiMessage, type AmiField } from '../../../control/src/ami/message.js';

export type SessionState = 'awaitingLogin' | 'loginFailing' | 'loggedIn' | 'closed';

export interface Session {
  id: number;
  socket: Socket;
  framer: AmiFramer;
  state: SessionState;
  username: string;
  connectedAt: Date;
  loginTimer: NodeJS.Timeout | null;
}

/** Writes a response; Asterisk puts ActionID second, right after the Response line. */
export function replyTo(session: Session, actionId: string | undefined, fields: AmiField[]): void {
  const [first, ...rest] = fields;
  const all: AmiField[] = first ? [first, ...(actionId !== undefined ? [['ActionID', actionId] as const] : []), ...rest] : [];
  session.socket.write(serializeAmiMessage(all));
}
