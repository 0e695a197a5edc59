import type { z } from 'zod';

/**
 * Parses an app's environment against its schema: only the schema's variables are read, and
 * the first problem is reported as `invalid configuration: NAME: reason`. `build` turns the
 * variables into the app's config (its own parse errors are reported the same way); the result
 * is frozen, as config is read once and passed down.
 */
export function loadEnv<S extends z.ZodObject, C extends object>(
  schema: S,
  env: Record<string, string | undefined>,
  build: (variables: z.infer<S>) => C,
): Readonly<C> {
  const parsed = schema.safeParse(
    Object.fromEntries(Object.entries(env).filter(([key, value]) => key in schema.shape && value !== '')),
  );
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid configuration: ${String(issue?.path[0])}: ${issue?.message}`);
  }
  try {
    return Object.freeze(build(parsed.data));
  } catch (error) {
    throw new Error(`invalid configuration: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * A URL safe to show in a response or a log line: user name and password replaced by `***`.
 * Text that does not parse as a URL is not shown at all.
 */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return '(unparsable URL)';
  }
  if (url.username) url.username = '***';
  if (url.password) url.password = '***';
  return url.href;
}

/**
 * A server process keeps serving after an error nothing caught (one bad request must not stop
 * the others): the error is logged, with its stack, and the process goes on.
 */
export function keepServingOnUncaughtErrors(log: (error: unknown, kind: string) => void): void {
  process.on('uncaughtException', (error) => log(error, 'uncaught exception'));
  process.on('unhandledRejection', (reason) => log(reason, 'unhandled rejection'));
}

/** Where a stopping service says so: pino's `info` and `error`. */
export interface ShutdownLog {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/**
 * SIGTERM and SIGINT stop the service once (a second signal while stopping is ignored): it logs
 * `shutting down` with the signal, runs `stop`, then exits 0, or 1 after logging why stopping
 * failed. Returns a function that removes the handlers.
 */
export function exitOnSignals(
  stop: () => Promise<void>,
  log: ShutdownLog,
  exit: (code: number) => void = (code) => process.exit(code),
): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    stop().then(
      () => exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}

/** One line for a failed listen: "127.0.0.1:8080 is in use", not a stack trace. */
export function listenFailure(address: string, error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'EADDRINUSE' || /address already in use|EADDRINUSE/i.test(message))
    return `cannot listen on ${address}: the address is in use (is another VMM running? set the port variable to another port)`;
  if (code === 'EACCES') return `cannot listen on ${address}: permission denied`;
  if (code === 'EADDRNOTAVAIL') return `cannot listen on ${address}: no such address on this machine`;
  return `cannot listen on ${address}: ${message}`;
}
