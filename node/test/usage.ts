// Typical use, type-checked by `tsc --noEmit` in types.test.mjs.
import {
  RateLimiter,
  RateLimited,
  IpAllowlist,
  ClientIpResolver,
  PasswordPolicy,
  PasswordHasher,
  WeakPassword,
  ApiKeyManager,
  Challenges,
  Key,
  KeySet,
  ManualClock,
  QrCode,
  RecoveryCodes,
  SessionManager,
  TokenExpired,
  TooManyAttempts,
  Totp,
  TotpManager,
  RedisStore,
  type Store,
  type Claims,
  type CodeDelivery,
  RemoteJwks,
  DpopVerifier,
  KeySetUnavailable,
  UseDpopNonce,
  createDpopProof,
  checkCertificateBinding,
  type DpopProof,
} from '../index'
import { authgate, Gate, GateRefusal } from '../express'

const keys = new KeySet([Key.fromPem(Key.generatePem('EdDSA'), 'EdDSA', 'k1')])
const token: string = keys.sign({ sub: 'alice', exp: 4_000_000_000 })
const claims: Claims = keys.verify(token, { audience: ['api'], leeway: 5, now: new Date() })
const sessions = new SessionManager(keys, {
  issuer: 'https://auth.example',
  accessTtl: 300,
  clock: new ManualClock(new Date()),
})
const login = sessions.login('alice', 'phone', { deviceName: "Alice's phone" })
const access: string = login.tokens.accessToken
try {
  keys.verify(access)
} catch (e) {
  if (e instanceof TokenExpired) {
    const code: 'TOKEN_EXPIRED' = e.code
    void code
  }
}
const apiKeys = new ApiKeyManager()
const { key, record } = apiKeys.create({ scopes: ['sms:*'], credits: 10 })
const gate = new Gate({ keys: sessions, apiKeys })
const middleware = authgate(gate)
const outcome = gate.check((name) => (name === 'x-api-key' ? key : undefined), '192.0.2.1')
if (outcome instanceof GateRefusal) {
  const sent: [number, Record<string, string>, string, string] = [
    outcome.status,
    outcome.headers,
    outcome.body,
    outcome.error.code,
  ]
  void sent
} else {
  const who: string | null = outcome.identity
  void who
}
void claims, key, record.lastFour, middleware

// One-time codes.
const totpManager = new TotpManager({ issuer: 'ACME', throttle: { freeFailures: 5 } })
const enrollment = totpManager.beginEnrollment('alice')
const qrPng: Buffer = new QrCode(enrollment.uri).png(4)
const step: number = new Totp(enrollment.secret).verify('123456', { time: new Date(), window: 1 })
const sms = new Challenges(
  async (d: CodeDelivery) => {
    void d.code
  },
  { ttl: 300 },
)
void sms.issue('login:alice', '+15550100').then((i) => i.resendAfter)
try {
  totpManager.verify('alice', enrollment.secret, '000000')
} catch (e) {
  if (e instanceof TooManyAttempts) {
    const wait: number = e.retryAfter
    void wait
  }
}
void qrPng, step, new RecoveryCodes().generate('alice')

const limiter = new RateLimiter({ clock: new ManualClock(new Date()) })
limiter.setPolicy('login', '5/minute')
limiter.setOverride('default', 'big-app', { limit: 5000, periodMs: 60_000 })
const decision = limiter.check('alice', { policy: 'login', cost: 1 })
const headers: Record<string, string> = decision.headers
const remaining: number = decision.remaining
try {
  limiter.enforce('alice', { policy: 'login' })
} catch (e) {
  if (e instanceof RateLimited) void (e.retryAfter satisfies number)
}
const client: string = new ClientIpResolver(['10.0.0.0/8']).resolve(
  '10.0.0.1',
  undefined as string | string[] | undefined,
)
const inOffice: boolean = new IpAllowlist(['10.0.0.0/8']).contains(client)
try {
  new PasswordPolicy({ minLength: 10, blocklist: ['password'] }).enforce('hunter2')
} catch (e) {
  if (e instanceof WeakPassword) void (e.violations satisfies string[])
}
const phc: Promise<string> = new PasswordHasher({ memoryKib: 19456 }).hash('pw')
void phc.then((h) => new PasswordHasher().verify('pw', h)), headers, remaining, inOffice

// Redis, and the Promise variants that keep its round trips off the event loop.
const redis = new RedisStore('redis://localhost:6379', { prefix: 'app:', timeout: 0.5 })
const anyStore: Store = redis
const sharedLimiter = new RateLimiter({ store: anyStore, failureMode: 'open' })
sharedLimiter.failureMode = 'closed'
const later: Promise<boolean> = sharedLimiter
  .checkAsync('k', { policy: 'default' })
  .then((d) => d.allowed && !d.degraded)
const sharedSessions = new SessionManager(new KeySet(), { store: redis })
const refreshed: Promise<string> = sharedSessions
  .loginAsync('u', 'd')
  .then((r) => sharedSessions.refreshAsync(r.tokens.refreshToken))
  .then((p) => p.accessToken)
const pinged: Promise<void> = redis.ping()
void later, refreshed, pinged

// An identity provider's tokens, DPoP and certificate-bound tokens.
const idp = RemoteJwks.discover('https://login.example.com', { ttl: 600, maxStale: 3600, timeout: 2 })
const idpClaims: Promise<Claims> = idp.verify('token', { audience: 'api' }).catch((e: unknown) => {
  if (e instanceof KeySetUnavailable || e instanceof UseDpopNonce) return {}
  throw e
})
const lastError: string | undefined = idp.status().lastError?.code
const dpopKey = Key.fromPem(Key.generatePem('ES256'), 'ES256')
const proof: string = createDpopProof(dpopKey, 'GET', 'https://api.example.com/x', { accessToken: 'at' })
const bound: DpopProof = new DpopVerifier({ maxAge: 60, store: redis }).verify(
  proof,
  'GET',
  'https://api.example.com/x',
  { accessToken: 'at', accessClaims: { cnf: { jkt: 'x' } }, nonce: 'n' },
)
checkCertificateBinding({ cnf: { 'x5t#S256': 'x' } }, Buffer.from('pem'))
void idpClaims, lastError, bound.jkt
