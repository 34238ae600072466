import type { FastifyInstance } from 'fastify';

/** What the node routes act on (a TandemNode, behind a function so the routes exist before it does). */
export interface NodeControl {
  /** Begins a graceful drain (idempotent): the calls in flight when it began, and the deadline they have. */
  drain: () => { calls: number; timeoutMs: number };
  /**
   * A fault drill (only with `TANDEM_FAULT_DRILLS=true`): terminates engine worker `shard` as a crash
   * would. Resolves with the pairs it carried (the engine closes them, their calls are torn down) or
   * null for no such worker.
   */
  terminateWorker?: (shard: number) => Promise<{ shard: number; pairs: string[] } | null>;
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

  const terminateWorker = control.terminateWorker;
  if (!terminateWorker) return;
  /** `POST /v1/node/workers/:shard/terminate`: the soak's engine-worker fault; absent unless drills are on. */
  app.post<{ Params: { shard: string } }>(
    '/v1/node/workers/:shard/terminate',
    {
      schema: {
        params: { type: 'object', required: ['shard'], properties: { shard: { type: 'string', pattern: '^[0-9]{1,3}$' } } },
        response: {
          200: { type: 'object', required: ['shard', 'pairs'], properties: { shard: { type: 'integer' }, pairs: { type: 'array', items: { type: 'string' } } } },
          404: { type: 'object', required: ['error'], properties: { error: { type: 'string' } } },
        },
      },
    },
    async (request, reply) => {
      const result = await terminateWorker(Number(request.params.shard));
      if (result === null) return reply.code(404).send({ error: `no engine worker ${request.params.shard}` });
      return reply.code(200).send(result);
    },
  );
}
