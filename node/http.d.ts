import type { ApiKeyManager, ApiKeyRecord, AuthError, Claims, KeySet, SessionManager, VerifyOptions } from './index'

export interface AuthContext {
  claims: Claims | null
  apiKey: ApiKeyRecord | null
}

export interface GateOptions {
  keys?: KeySet | SessionManager
  apiKeys?: ApiKeyManager
  apiKeyScope?: string
  apiKeyHeader?: string
  realm?: string
  verify?: Omit<VerifyOptions, 'now'>
}

export declare class Gate {
  constructor(options: GateOptions)
  authenticate(header: (name: string) => string | undefined): AuthContext
  errorResponse(error: AuthError): { status: number; headers: Record<string, string>; body: string }
}
