import type { FastifyInstance } from 'fastify';
import { errorMessage } from '../../../common/src/errors.js';
import { PUBLIC_ROUTE } from '../http/auth.js';
import type { NodeMetrics } from './node-metrics.js';

/** One readiness condition: its name and whether it holds now (a throw counts as not ready). */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean> | boolean;
}

/**
 * `GET /metrics` (Prometheus text, behind the API token like every other route:
 * the numbers describe the node's traffic) and `GET /readyz` (public, like
 * /healthz: 200 when every readiness check holds, 503 naming those that do not).
 */
export function registerMetricsRoutes(app: FastifyInstance, options: { metrics: NodeMetrics; readiness: readonly ReadinessCheck[] }): void {
  const { metrics, readiness } = options;
  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await metrics.text();
    return reply.type(contentType).send(body);
  });

  app.get(
    '/readyz',
    {
      config: PUBLIC_ROUTE,
      schema: {
        response: {
          200: { type: 'object', required: ['status'], properties: { status: { type: 'string' } } },
          503: { type: 'object', required: ['status', 'failing'], properties: { status: { type: 'string' }, failing: { type: 'array', items: { type: 'string' } } } },
        },
      },
    },
    async (request, reply) => {
      const results = await Promise.all(
        readiness.map(async ({ name, check }) => {
          try {
            return { name, ok: await check() };
          } catch (err) {
            request.log.debug({ check: name, err: errorMessage(err) }, 'readiness check failed');
            return { name, ok: false };
          }
        }),
      );
      const failing = results.filter((r) => !r.ok).map((r) => r.name);
      if (failing.length > 0) return reply.code(503).send({ status: 'not ready', failing });
      return { status: 'ready' };
    },
  );
}
