// The example service of app.py in Node (Express 5): the same routes, answers and checks,
// so `make demo-node` runs the same scripted client against it.
//
//     PORT=8000 node examples/service/app.mjs          (REDIS_URL=redis://… to share state)
//
// Everything security-related is one authgate call; the rest is Express. The user table is
// a Map to keep the example short: use your database. In your app, import from 'authgate'
// and 'express'; here they come from the repository's node/ folder.
import { createRequire } from 'node:module'

const require = createRequire(new URL('../../node/package.json', import.meta.url))
const express = require('express')
const ag = require('./index.js') // in your app: require('authgate')
const { Gate, authgate, authgateErrors } = require('./express.js') // 'authgate/express'

// ---- state: one store for everything (Redis when several servers share it) ----
const store = process.env.REDIS_URL
  ? new ag.RedisStore(process.env.REDIS_URL, { prefix: process.env.REDIS_PREFIX ?? 'demo:' })
  : new ag.MemoryStore()
// In production the signing key comes from your secret store and is rotated (KeySet.add/retire).
const keys = new ag.KeySet([ag.Key.hmac(ag.Key.generateHmacSecret(), 'HS256', 'demo-1')])
const sessions = new ag.SessionManager(keys, { issuer: 'authgate-demo', checkSessionOnVerify: true, store })
const apiKeys = new ag.ApiKeyManager({ store }) // issues and accepts ag_live_ keys only
const serverKeys = new ag.ApiKeyManager({ store, prefix: 'ag_srv_' }) // a separate kind
const limiter = new ag.RateLimiter({ store })
// Password guessing: per username (one account) and per client address (one attacker).
limiter.setPolicy('login_user', '5/minute')
limiter.setPolicy('login_ip', '30/minute')
const totp = new ag.TotpManager({ store, issuer: 'authgate demo' })
const recovery = new ag.RecoveryCodes({ store })
const passwordPolicy = new ag.PasswordPolicy()
const passwords = new ag.PasswordHasher()
const requests = new ag.RequestVerifier({}, { store }) // app id -> its request-signing key
const sms = new ag.Challenges(
  (delivery) => {
    // A real service calls its SMS provider here.
    console.log(`[sms to ${delivery.destination}] your code is ${delivery.code}`)
  },
  { store, maxAttempts: 3 },
)

/** @type {Map<string, { passwordHash: string, totpSecret: string | null }>} */
const users = new Map()
const DUMMY_HASH = passwords.hashSync('not a real password, only for timing')

// ---- who may call what ----
const appOnly = new Gate({ apiKeys }) // x-api-key
const signedIn = new Gate({ apiKeys, keys: sessions, limiter }) // x-api-key + Bearer, 1000/min per app

/** The service's own refusals, in the same JSON shape as authgate's. */
class AppError extends Error {
  constructor(status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

const app = express()
const wrap = (handler) => async (req, res, next) => {
  try {
    await handler(req, res)
  } catch (error) {
    next(error)
  }
}

// Only signed requests (RFC 9421): the body is covered by Content-Digest, and each
// signature's nonce is accepted once. Declared before the JSON parser: it needs the raw bytes.
app.post(
  '/orders',
  express.raw({ type: '*/*' }),
  wrap((req, res) => {
    const verified = requests.verify({
      method: req.method,
      url: `${req.protocol}://${req.get('host')}${req.originalUrl}`,
      headers: req.headers,
      body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
    })
    res.status(201).json({ order: 'created', signed_by: verified.keyid })
  }),
)

app.use(express.json())

app.post(
  '/apps',
  wrap((req, res) => {
    // Admin: put this route behind your admin authentication.
    const name = String(req.body?.name ?? 'app')
    const { key: apiKey, record } = apiKeys.create({ name, scopes: ['orders'] })
    const { key: serverKey } = serverKeys.create({ name: `${name} (server)` })
    const { key: signingKey, secret } = ag.SignatureKey.generate('hmac-sha256')
    requests.addKey(record.id, signingKey)
    res
      .status(201)
      .json({ app_id: record.id, api_key: apiKey, server_key: serverKey, signing_secret: secret.toString('hex') })
  }),
)

app.post(
  '/signup',
  authgate(appOnly),
  wrap(async (req, res) => {
    const { username, password } = req.body ?? {}
    if (users.has(username)) throw new AppError(409, 'username_taken', 'this username is taken') // never overwrite
    passwordPolicy.enforce(String(password)) // WeakPassword lists every broken rule
    users.set(username, { passwordHash: await passwords.hash(String(password)), totpSecret: null })
    res.status(201).json({ username })
  }),
)

// Good for five minutes and for the MFA step only (its own token type).
const mfaToken = (username) =>
  keys.sign({ sub: username, exp: Math.floor(Date.now() / 1000) + 300 }, { typ: 'mfa+jwt' })
const mfaUser = (req) =>
  String(keys.verify(ag.bearerToken(req.get('authorization') ?? ''), { tokenType: 'mfa+jwt' }).sub)

app.post(
  '/login',
  authgate(appOnly),
  wrap(async (req, res) => {
    const { username, password } = req.body ?? {}
    // Throttled per client address and per username before any password is checked.
    limiter.enforce(req.socket.remoteAddress ?? 'unknown', { policy: 'login_ip' })
    limiter.enforce(String(username), { policy: 'login_user' })
    const user = users.get(username)
    // Verify a hash even for unknown users, so timing does not tell which names exist.
    const ok = await passwords.verify(String(password), user ? user.passwordHash : DUMMY_HASH)
    if (!ok || !user) throw new AppError(401, 'invalid_credentials', 'wrong username or password')
    res.json({ mfa: user.totpSecret ? 'verify' : 'enroll', mfa_token: mfaToken(username) })
  }),
)

app.post(
  '/mfa/enroll',
  wrap((req, res) => {
    const username = mfaUser(req)
    const secret = users.get(username).totpSecret
    if (secret !== null) {
      // Replacing an authenticator needs a code from the current one, never the password alone.
      const current = req.body?.current_code
      if (current == null) {
        throw new AppError(
          409,
          'already_enrolled',
          'an authenticator is enrolled: send current_code from it to replace it',
        )
      }
      totp.verify(username, secret, String(current)) // throttled, capped, replay-checked
    }
    const enrollment = totp.beginEnrollment(username)
    res.json({ otpauth_uri: enrollment.uri, qr: new ag.QrCode(enrollment.uri).text() })
  }),
)

const tokens = (username, deviceId) => {
  const pair = sessions.login(username, deviceId).tokens
  return { access_token: pair.accessToken, refresh_token: pair.refreshToken, expires_at: pair.accessExpiresAt }
}

app.post(
  '/mfa/confirm',
  wrap((req, res) => {
    const username = mfaUser(req)
    users.get(username).totpSecret = totp.confirmEnrollment(username, String(req.body?.code))
    // Recovery codes for a lost phone: shown once, stored as keyed hashes.
    res.json({ ...tokens(username, req.body?.device_id ?? 'browser'), recovery_codes: recovery.generate(username) })
  }),
)

app.post(
  '/mfa/verify',
  wrap((req, res) => {
    const username = mfaUser(req)
    const secret = users.get(username).totpSecret
    if (secret === null) throw new ag.InvalidCode('no authenticator is enrolled')
    totp.verify(username, secret, String(req.body?.code)) // replays and guessing are refused
    res.json(tokens(username, req.body?.device_id ?? 'browser'))
  }),
)

app.post(
  '/mfa/recover',
  wrap((req, res) => {
    const username = mfaUser(req)
    const left = recovery.verify(username, String(req.body?.code)) // each code works once
    res.json({ ...tokens(username, req.body?.device_id ?? 'browser'), recovery_codes_left: left })
  }),
)

app.get('/me', authgate(signedIn), (req, res) => {
  res.json({
    user: req.auth.claims.sub,
    app: req.auth.apiKey.name,
    sessions: sessions.list(req.auth.claims.sub).length,
  })
})

// This route's own limit: 5 per minute per user, apart from the others.
app.get('/search', authgate(signedIn, { limit: '5/minute' }), (req, res) => {
  res.json({ q: req.query.q, results: [] })
})

app.post(
  '/token/refresh',
  wrap((req, res) => {
    const pair = sessions.refresh(String(req.body?.refresh_token)) // a reused refresh token revokes the session
    res.json({ access_token: pair.accessToken, refresh_token: pair.refreshToken })
  }),
)

app.get('/sessions', authgate(signedIn), (req, res) => {
  res.json(sessions.list(req.auth.claims.sub).map((s) => ({ device: s.deviceId, last_used_at: s.lastUsedAt })))
})

app.post('/logout-all', authgate(signedIn), (req, res) => {
  res.json({ revoked: sessions.revokeAll(req.auth.claims.sub) })
})

app.post(
  '/sms/send',
  authgate(signedIn),
  wrap(async (req, res) => {
    const issued = await sms.issue(req.auth.claims.sub, String(req.body?.phone))
    res.json({ expires_at: issued.expiresAt, attempts_left: issued.attemptsLeft })
  }),
)

app.post(
  '/sms/verify',
  authgate(signedIn),
  wrap((req, res) => {
    sms.verify(req.auth.claims.sub, String(req.body?.code))
    res.json({ phone: 'verified' })
  }),
)

app.get('/health', (_req, res) => res.json({ status: 'ok', store: store.constructor.name }))

// Every AuthError thrown above answers with the core's refusal (status, headers, JSON).
app.use(authgateErrors())
// The service's own errors, and anything else, as JSON too.
app.use((error, _req, res, _next) => {
  if (error instanceof AppError) return res.status(error.status).json({ error: error.code, message: error.message })
  if (error?.type === 'entity.parse.failed')
    return res.status(400).json({ error: 'invalid_json', message: 'the body is not JSON' })
  console.error(error)
  return res.status(500).json({ error: 'internal', message: 'internal error' })
})

const port = Number(process.env.PORT ?? 8000)
app.listen(port, process.env.HOST ?? '127.0.0.1', () => console.log(`listening on ${port}`))
