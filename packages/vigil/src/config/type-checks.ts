/**
 * Compile-time proof that the schema's output fits the shared types in ../types.ts: if a schema drifts
 * from the type the adapters and assertions read, `tsc` fails here. Nothing in this file runs.
 */
import type { z } from 'zod';
import type { HttpCheckRequest, httpRequestSchema } from '../protocols/http.js';
import type {
  AuthConfig,
  ExpectConfig,
  Operators,
  PathAssertion,
  TargetConfig,
  TlsConfig,
} from '../types.js';
import type {
  assertionSchema,
  authSchema,
  expectSchema,
  operatorsSchema,
  TargetSpec,
  tlsSchema,
} from './schema.js';

type Assert<T extends true> = T;
type Fits<A, B> = [A] extends [B] ? true : false;

/** `expect.outputs.<name>` is an {@link Operators}. */
export type OperatorsFit = Assert<Fits<z.output<typeof operatorsSchema>, Operators>>;
/** `expect.assertions[]` is a {@link PathAssertion}. */
export type AssertionFits = Assert<Fits<z.output<typeof assertionSchema>, PathAssertion>>;
/** A target's `auth` is an {@link AuthConfig}. */
export type AuthFits = Assert<Fits<z.output<typeof authSchema>, AuthConfig>>;
/** A target's `tls` is a {@link TlsConfig}. */
export type TlsFits = Assert<Fits<z.output<typeof tlsSchema>, TlsConfig>>;
/** An http check's `request` is an {@link HttpCheckRequest}. */
export type HttpRequestFits = Assert<Fits<z.output<typeof httpRequestSchema>, HttpCheckRequest>>;
/** Keys of `expect` whose durations the plan turns into ms, and `schema` (a file name until loaded). */
type Converted = 'latency' | 'ttft' | 'maxTokenGap' | 'schema';
/** `expect` is an {@link ExpectConfig} but for the {@link Converted} keys. */
export type ExpectFits = Assert<
  Fits<Omit<z.output<typeof expectSchema>, Converted>, Omit<ExpectConfig, Converted>>
>;
/** The keys a target passes to {@link TargetConfig} unchanged. */
export type TargetFits = Assert<
  Fits<
    Pick<
      TargetSpec,
      'name' | 'url' | 'protocol' | 'model' | 'version' | 'auth' | 'tls' | 'maxBodyBytes' | 'maxRedirects'
    >,
    Pick<
      TargetConfig,
      'name' | 'url' | 'protocol' | 'model' | 'version' | 'auth' | 'tls' | 'maxBodyBytes' | 'maxRedirects'
    >
  >
>;
