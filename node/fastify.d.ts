import type { FastifyPluginCallback } from 'fastify'
import type { AuthContext, Gate } from './http'
export { Gate } from './http'
export type { AuthContext, GateOptions } from './http'

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null
  }
}

export declare const authgatePlugin: FastifyPluginCallback<{ gate: Gate; exclude?: string[] }>
