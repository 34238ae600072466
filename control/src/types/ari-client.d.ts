// ari-client ships no types; the adapter narrows what it uses (control/src/ari).
declare module 'ari-client' {
  const client: { connect(url: string, user: string, pass: string): Promise<unknown> };
  export default client;
}
