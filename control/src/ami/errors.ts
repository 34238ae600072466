/**
 * AMI errors. Each carries a stable `code` so callers and tests branch on the
 * code, never on message text.
 */

export type AmiErrorCode =
  | 'AMI_BAD_LINE'
  | 'AMI_EMPTY_MESSAGE'
  | 'AMI_BAD_FIELD'
  | 'AMI_BAD_BANNER'
  | 'AMI_FRAME_TOO_LARGE'
  | 'AMI_MISSING_FIELD'
  | 'AMI_AUTH_FAILED'
  | 'AMI_ACTION_FAILED'
  | 'AMI_NOT_CONNECTED'
  | 'AMI_DISCONNECTED'
  | 'AMI_CLOSED'
  | 'AMI_CONNECT_FAILED';

export class AmiError extends Error {
  override readonly name: string = 'AmiError';
  constructor(
    readonly code: AmiErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Bytes from the wire (or a caller's fields) that do not follow the AMI format. */
export class AmiParseError extends AmiError {
  override readonly name = 'AmiParseError';
}

/**
 * Login refused (`Response: Error / Message: Authentication failed`). The secret
 * is never part of the message; `username` says which account was refused.
 */
export class AmiAuthError extends AmiError {
  override readonly name = 'AmiAuthError';
  constructor(
    readonly username: string,
    readonly serverMessage: string,
  ) {
    super('AMI_AUTH_FAILED', `AMI login refused for user '${username}': ${serverMessage}`);
  }
}

/** An action answered `Response: Error`; `serverMessage` is Asterisk's text (trailing newline trimmed). */
export class AmiActionError extends AmiError {
  override readonly name = 'AmiActionError';
  constructor(
    readonly action: string,
    readonly serverMessage: string,
  ) {
    super('AMI_ACTION_FAILED', `AMI action ${action} failed: ${serverMessage}`);
  }
}

/** The connection is not logged in, was lost while an action was pending, or was closed. */
export class AmiConnectionError extends AmiError {
  override readonly name = 'AmiConnectionError';
}
