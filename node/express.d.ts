import type { RequestHandler } from 'express'
import type { AuthContext, Gate } from './http'
export { Gate } from './http'
export type { AuthContext, GateOptions } from './http'

declare global {
  namespace Express {
    interface Request {
      auth?: AuthContext
    }
  }
}

export declare function authgate(gate: Gate, options?: { exclude?: string[] }): RequestHandler
