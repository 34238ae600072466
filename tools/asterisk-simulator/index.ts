/** Test-support simulators of Asterisk: ARI (HTTP + WebSocket + externalMedia RTP) and AMI. */
export * from './ari/index.js';
export * from './ami/index.js';
