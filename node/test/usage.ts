// Typical use, type-checked by `tsc --noEmit` in types.test.mjs.
import { ApiKeyManager, Key, KeySet, ManualClock, SessionManager, TokenExpired, type Claims } from '../index'
import { authgate, Gate } from '../express'

const keys = new KeySet([Key.fromPem(Key.generatePem('EdDSA'), 'EdDSA', 'k1')])
const token: string = keys.sign({ sub: 'alice', exp: 4_000_000_000 })
const claims: Claims = keys.verify(token, { audience: ['api'], leeway: 5, now: new Date() })
const sessions = new SessionManager(keys, { issuer: 'https://auth.example', accessTtl: 300, clock: new ManualClock(new Date()) })
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
const middleware = authgate(new Gate({ keys: sessions, apiKeys }))
void claims, key, record.lastFour, middleware
