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
