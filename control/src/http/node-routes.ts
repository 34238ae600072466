import type { FastifyInstance } from 'fastify';

/** What the node routes act on (a TandemNode, behind a function so the routes exist before it does). */
export interface NodeControl {
  /** Begins a graceful drain (idempotent): the calls in flight when it began, and the deadline they have. */
  drain: () => { calls: number; timeoutMs: number };
}

/**
 * `POST /v1/node/drain`: what SIGTERM does, over the API (`tandem drain`). Answers at once, before
 * the drain ends: the node stops taking calls, lets those in flight finish up to its deadline,
 * then closes and `tandem start` exits 0. Behind the token like every non-health route.
 */
export function registerNodeRoutes(app: FastifyInstance, control: NodeControl): void {
  app.post(
    '/v1/node/drain',
    {
      schema: {
        response: {
          202: {
            type: 'object',
            required: ['status', 'calls', 'timeoutMs'],
            properties: { status: { type: 'string' }, calls: { type: 'integer' }, timeoutMs: { type: 'integer' } },
          },
        },
      },
    },
    async (_request, reply) => {
      const { calls, timeoutMs } = control.drain();
      return reply.code(202).send({ status: 'draining', calls, timeoutMs });
    },
  );
}
