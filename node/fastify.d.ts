import type { FastifyPluginCallback } from 'fastify'
import type { AuthContext, Gate, RouteOptions } from './http'
export { Gate, GateRefusal } from './http'
export type { AuthContext, GateOptions } from './http'

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null
  }
  interface FastifyContextConfig {
    /** A route's own rule: `{ config: { authgate: { scopes, limit } } }`. */
    authgate?: RouteOptions & { name?: string }
  }
}

/** `handleErrors` (default true): an AuthError thrown in a route answers with the gate's JSON refusal. */
export declare const authgatePlugin: FastifyPluginCallback<{ gate: Gate; exclude?: string[]; handleErrors?: boolean }>
