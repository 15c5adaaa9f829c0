import type { AuthContext, Gate, GateRoute, RouteOptions } from './http'
export { Gate, GateRefusal } from './http'
export type { AuthContext, GateOptions } from './http'

/** Checks a Web `Request`: `{ auth }` when admitted, `{ response }` (the refusal to return) when not. */
export declare function authenticateRequest(
  gate: Gate,
  request: Request,
  options?: { peer?: string; route?: GateRoute | null },
): Promise<{ auth: AuthContext; response?: undefined } | { response: Response; auth?: undefined }>
/** Wraps a fetch-style handler (a Next.js route handler, …): refusals and AuthErrors it throws answer with the gate's JSON. */
export declare function withAuthgate<R extends unknown[]>(
  gate: Gate,
  handler: (request: Request, auth: AuthContext, ...rest: R) => Response | Promise<Response>,
  options?: { peer?: (request: Request, ...rest: R) => string | undefined; name?: string } & RouteOptions,
): (request: Request, ...rest: R) => Promise<Response>
/** Hono middleware: `app.use('/api/*', honoAuthgate(gate))`, then `c.get('auth')`. */
export declare function honoAuthgate(
  gate: Gate,
  options?: { peer?: (c: any) => string | undefined; name?: string } & RouteOptions,
): (c: any, next: () => Promise<void>) => Promise<Response | void>
/** For Hono's `app.onError`. */
export declare function honoAuthgateErrors(options?: {
  realm?: string
  fallback?: (error: Error, c: any) => Response
}): (error: Error, c: any) => Response
