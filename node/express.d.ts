import type { ErrorRequestHandler, RequestHandler } from 'express'
import type { AuthContext, Gate, RouteOptions } from './http'
export { Gate, GateRefusal } from './http'
export type { AuthContext, GateOptions } from './http'

declare global {
  namespace Express {
    interface Request {
      auth?: AuthContext
    }
  }
}

/** `app.use(authgate(gate))`, or per route with its own `scopes`/`limit` (`name`: the route's buckets). */
export declare function authgate(
  gate: Gate,
  options?: { exclude?: string[]; name?: string } & RouteOptions,
): RequestHandler
/** Error middleware (last): an AuthError thrown in a route answers with the gate's JSON refusal. Express 4 and 5. */
export declare function authgateErrors(options?: { realm?: string }): ErrorRequestHandler
