import type { FastifyInstance } from 'fastify';
import type { PairLease, PairStore } from '../alloc/index.js';
import { ApiError } from './errors.js';

const leaseProperties = {
  pairId: { type: 'string' },
  extA: { type: 'string' },
  extB: { type: 'string' },
  state: { type: 'string', enum: ['allocated', 'active', 'releasing'] },
  assignedAt: { type: 'string' },
  callerId: { type: ['string', 'null'] },
  node: { type: 'string' },
  owner: { type: 'string', enum: ['call', 'api'] },
  leaseExpiresAt: { type: 'string' },
} as const;

/** A lease as GET shows it: the lease token is a capability and stays with its holder. */
export const publicLeaseSchema = {
  $id: 'PairLease',
  type: 'object',
  required: Object.keys(leaseProperties),
  properties: leaseProperties,
} as const;

/** What POST returns: the lease plus the lease token needed to renew and release it. */
export const grantedLeaseSchema = {
  $id: 'GrantedPairLease',
  type: 'object',
  required: [...Object.keys(leaseProperties), 'leaseToken'],
  properties: { ...leaseProperties, leaseToken: { type: 'string' } },
} as const;

const pairIdParams = {
  type: 'object',
  required: ['pairId'],
  properties: { pairId: { type: 'string' } },
} as const;

const leaseTokenHeaders = {
  type: 'object',
  properties: { 'x-lease-token': { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

const leaseTokenBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { leaseToken: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

const errorRef = { $ref: 'ApiError#' } as const;

interface PairParams {
  pairId: string;
}
interface LeaseTokenRoute {
  Params: PairParams;
  Headers: { 'x-lease-token'?: string };
  Body: { leaseToken?: string } | null | undefined;
}

export interface PairRoutesOptions {
  store: PairStore;
}

/**
 * The pair routes, on any Fastify instance (the control API, or a test's): `/v1/pairs`
 * allocate / list, `/v1/pairs/:pairId` get / release, `/v1/pairs/:pairId/renew`.
 * Needs the `ApiError` schema and error handler that `createControlApi` installs.
 */
export function registerPairRoutes(app: FastifyInstance, { store }: PairRoutesOptions): void {
  const checkPairId = (pairId: string): void => {
    try {
      store.pool.indexOf(pairId);
    } catch (err) {
      throw new ApiError(404, 'UNKNOWN_PAIR', err instanceof Error ? err.message : `unknown PAIR_ID "${pairId}"`);
    }
  };
  const leaseToken = (headers: LeaseTokenRoute['Headers'], body: LeaseTokenRoute['Body']): string => {
    const token = headers['x-lease-token'] ?? body?.leaseToken;
    if (token === undefined) throw new ApiError(400, 'LEASE_TOKEN_REQUIRED', 'the lease token goes in the X-Lease-Token header or the body as {"leaseToken": "…"}');
    return token;
  };

  app.post<{ Body: { callerId?: string | null } | null | undefined }>(
    '/v1/pairs',
    {
      schema: {
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: { callerId: { type: ['string', 'null'], maxLength: 128 } },
        },
        response: { 201: { $ref: 'GrantedPairLease#' }, 503: errorRef },
      },
    },
    async (request, reply) => {
      // An API lease is its client's to renew and release: reconciliation never reclaims it.
      const lease: PairLease = await store.allocate({ callerId: request.body?.callerId ?? null, owner: 'api' });
      return reply.code(201).send(lease);
    },
  );

  app.get('/v1/pairs', { schema: { response: { 200: { type: 'object', required: ['pairs'], properties: { pairs: { type: 'array', items: { $ref: 'PairLease#' } } } } } } }, async () => ({
    pairs: await store.list(),
  }));

  app.get<{ Params: PairParams }>(
    '/v1/pairs/:pairId',
    { schema: { params: pairIdParams, response: { 200: { $ref: 'PairLease#' }, 404: errorRef } } },
    async (request) => {
      const { pairId } = request.params;
      checkPairId(pairId);
      const lease = await store.get(pairId);
      if (lease === null) throw new ApiError(404, 'PAIR_FREE', `${pairId} is not allocated`);
      return lease;
    },
  );

  app.delete<LeaseTokenRoute>(
    '/v1/pairs/:pairId',
    { schema: { params: pairIdParams, headers: leaseTokenHeaders, body: leaseTokenBody, response: { 404: errorRef, 409: errorRef } } },
    async (request, reply) => {
      const { pairId } = request.params;
      checkPairId(pairId);
      const released = await store.release(pairId, leaseToken(request.headers, request.body));
      if (!released) throw new ApiError(409, 'LEASE_MISMATCH', `${pairId} is held under another lease token`);
      return reply.code(204).send();
    },
  );

  app.post<LeaseTokenRoute>(
    '/v1/pairs/:pairId/renew',
    { schema: { params: pairIdParams, headers: leaseTokenHeaders, body: leaseTokenBody, response: { 404: errorRef, 409: errorRef } } },
    async (request, reply) => {
      const { pairId } = request.params;
      checkPairId(pairId);
      const renewed = await store.renew(pairId, leaseToken(request.headers, request.body));
      if (!renewed) throw new ApiError(409, 'LEASE_MISMATCH', `${pairId} is not held under this lease token (released, expired or re-assigned)`);
      return reply.code(204).send();
    },
  );
}
