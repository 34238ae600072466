import { z } from 'zod';

/** Messages between the console benchmark's main thread (Tandem) and its world thread (console-world.ts). */
export const toWorldSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('start'), username: z.string(), password: z.string() }),
  z.object({ type: z.literal('calls'), extBs: z.array(z.string()) }),
  z.object({ type: z.literal('watch'), base: z.string(), token: z.string(), paths: z.array(z.string()) }),
  z.object({ type: z.literal('unwatch') }),
  z.object({ type: z.literal('close') }),
]);
export type ToWorld = z.infer<typeof toWorldSchema>;

export const fromWorldSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('started'), ariUrl: z.string() }),
  z.object({ type: z.literal('placed'), calls: z.number() }),
  z.object({ type: z.literal('watching') }),
  z.object({ type: z.literal('watched'), bytes: z.number(), events: z.number() }),
  z.object({ type: z.literal('closed') }),
  z.object({ type: z.literal('error'), message: z.string() }),
]);
export type FromWorld = z.infer<typeof fromWorldSchema>;

