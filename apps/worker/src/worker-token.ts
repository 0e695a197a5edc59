import { createHash, timingSafeEqual } from 'node:crypto';
import { Metadata, type ServerInterceptor, ServerInterceptingCall, status } from '@grpc/grpc-js';

/** Health checks stay open: Kubernetes' and Docker's probes carry no token. */
const OPEN_SERVICES = ['/grpc.health.v1.Health/'];

/**
 * A server interceptor that lets a call through only with `authorization: Bearer <token>`
 * (what the gateway and batch runner send when VMM_WORKER_TOKEN is set). Tokens are compared
 * as SHA-256 digests with timingSafeEqual, so neither content nor length leaks through timing.
 */
export function requireWorkerToken(token: string): ServerInterceptor {
  const expected = createHash('sha256').update(token).digest();
  return (method, call) =>
    new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, pass) {
            if (OPEN_SERVICES.some((prefix) => method.path.startsWith(prefix))) return pass(metadata);
            const header = metadata.get('authorization')[0];
            const given = /^Bearer (.+)$/.exec(typeof header === 'string' ? header : '')?.[1] ?? '';
            if (timingSafeEqual(expected, createHash('sha256').update(given).digest())) return pass(metadata);
            call.sendStatus({
              code: status.UNAUTHENTICATED,
              details: given ? 'invalid worker token' : 'this worker requires a token (VMM_WORKER_TOKEN)',
              metadata: new Metadata(),
            });
          },
        });
      },
    });
}
