// Writes tests/vectors/jwt/keys.json: key import hardening, the RFC 9864 `Ed25519` name and
// HMAC keys from raw secrets.
//
// Independent of authgate: keys are RFC test keys (RFC 7515 A.2 RSA and A.3 P-256, RFC 8037
// A.1 Ed25519) or derived here from a fixed private scalar with node:crypto's ECDH (P-384);
// PEM and DER come from node:crypto's export, the OpenSSH line is assembled here (RFC 4253
// §6.6, RFC 8709), and Ed25519 signatures (deterministic) come from node:crypto.
// `node tests/vectors/tools/jwt_cases.mjs --check` fails if the committed file differs.
import {
  constants,
  createECDH,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  privateEncrypt,
  sign,
  verify,
} from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeVectors } from './write.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const b64u = (buf) => Buffer.from(buf).toString('base64url')
const fromB64u = (text) => Buffer.from(text, 'base64url')
const rfc = (file, name) => JSON.parse(readFileSync(join(root, file), 'utf8')).cases.find((c) => c.name === name)

const RSA = rfc('jwt/rfc7515.json', 'A.2 RS256 signature reproduces').key.jwk
const P256 = rfc('jwt/rfc7515.json', 'A.3 ES256 verifies with the public key').keys[0].jwk
const ED = rfc('jwt/rfc8037.json', 'A.1/A.2 Ed25519 key imports and exports its public JWK').key.jwk
const publicOf = (jwk) =>
  Object.fromEntries(Object.entries(jwk).filter(([k]) => !['d', 'p', 'q', 'dp', 'dq', 'qi'].includes(k)))

// P-384 from a fixed scalar: node computes the public point.
const ecdh = createECDH('secp384r1')
ecdh.setPrivateKey(Buffer.alloc(48, 0x2a))
const point = ecdh.getPublicKey()
const P384 = { kty: 'EC', crv: 'P-384', x: b64u(point.subarray(1, 49)), y: b64u(point.subarray(49)) }

const pem = (jwk, type = 'spki') =>
  createPublicKey({ key: publicOf(jwk), format: 'jwk' }).export({ type, format: 'pem' })
const der = (jwk) => createPublicKey({ key: publicOf(jwk), format: 'jwk' }).export({ type: 'spki', format: 'der' })
const privatePem = (jwk, type = 'pkcs8') =>
  createPrivateKey({ key: jwk, format: 'jwk' }).export({ type, format: 'pem' })
const sshString = (buf) => Buffer.concat([Buffer.from([0, 0, 0, buf.length]), buf])
const sshEd25519 = `ssh-ed25519 ${Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(fromB64u(ED.x))]).toString('base64')} vectors`

// An `oct` JWK whose secret is `material`: how a runtime's Key.hmac receives the same bytes.
const octOf = (material) => ({ jwk: { kty: 'oct', alg: 'HS256', k: b64u(Buffer.from(material)) } })
const refused = (name, material) => ({
  name: `an HMAC secret that is ${name} is refused`,
  op: 'import_key',
  key: octOf(material),
  expect: { error: 'invalid_key' },
})

const flipLast = (text) => {
  const b = fromB64u(text)
  b[b.length - 1] ^= 1
  return b64u(b)
}
const joined = Buffer.concat([fromB64u(P256.x), fromB64u(P256.y)])

const edSigned = (header, payload) => {
  const input = `${b64u(JSON.stringify(header))}.${b64u(payload)}`
  return `${input}.${b64u(sign(null, Buffer.from(input), createPrivateKey({ key: ED, format: 'jwk' })))}`
}
const ED_TOKEN = edSigned({ alg: 'Ed25519' }, 'Example of Ed25519 signing')
const EDDSA_TOKEN = rfc('jwt/rfc8037.json', 'A.5 Ed25519 JWS verifies with the public key').token
const CLAIMS = { sub: 'user-1', exp: 1700000600 }
const ED_JWT = edSigned({ alg: 'Ed25519', typ: 'JWT' }, JSON.stringify(CLAIMS))
const edPublic = { jwk: publicOf(ED) }

// Nesting: the payload object plus `levels` nested arrays in one claim, HS256-signed here.
const NEST_SECRET = 'authgate-nesting-vectors-hs256-secret-0123'
const nested = (levels) => {
  let value = 'deep'
  for (let i = 0; i < levels; i++) value = [value]
  return { sub: 'user-1', exp: 1700000600, data: value }
}
// The payload text is written out (JSON.stringify recurses, and 5000 levels overflow it).
const nestedText = (levels) =>
  `{"sub":"user-1","exp":1700000600,"data":${'['.repeat(levels)}"deep"${']'.repeat(levels)}}`
const hs256 = (payloadText) => {
  const input = `${b64u(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64u(payloadText)}`
  return `${input}.${b64u(createHmac('sha256', NEST_SECRET).update(input).digest())}`
}
const nestKey = [{ jwk: { kty: 'oct', alg: 'HS256', k: b64u(NEST_SECRET) } }]

// PS256 (RFC 8017 §9.1.1 EMSA-PSS, MGF1-SHA256, a 32-byte salt) written out here with a
// fixed salt, so the file is reproducible; node:crypto does the raw RSA operation with the
// RFC 7515 A.2 private key and checks the result with its own PSS verifier.
const sha256 = (...parts) => createHash('sha256').update(Buffer.concat(parts)).digest()
const mgf1 = (seed, length) => {
  const blocks = []
  for (let i = 0; blocks.length * 32 < length; i++) blocks.push(sha256(seed, Buffer.from([0, 0, 0, i])))
  return Buffer.concat(blocks).subarray(0, length)
}
const rsaPrivate = createPrivateKey({ key: RSA, format: 'jwk' })
const ps256 = (header, payload) => {
  const input = `${b64u(JSON.stringify(header))}.${b64u(payload)}`
  const emLen = fromB64u(RSA.n).length
  const salt = Buffer.alloc(32, 0x5a)
  const h = sha256(Buffer.alloc(8), sha256(Buffer.from(input)), salt)
  const db = Buffer.concat([Buffer.alloc(emLen - 32 - 32 - 2), Buffer.from([1]), salt])
  const masked = Buffer.from(db.map((b, i) => b ^ mgf1(h, emLen - 33)[i]))
  masked[0] &= 0x7f // emBits = modBits - 1 = 2047
  const em = Buffer.concat([masked, h, Buffer.from([0xbc])])
  const signature = privateEncrypt({ key: rsaPrivate, padding: constants.RSA_NO_PADDING }, em)
  const ok = verify(
    'sha256',
    Buffer.from(input),
    { key: rsaPrivate, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
    signature,
  )
  if (!ok) throw new Error('the PS256 vector does not verify')
  return `${input}.${b64u(signature)}`
}
const PS_PAYLOAD = 'a PS256 token from a provider key published without alg'
const PS_TOKEN = ps256({ alg: 'PS256', kid: 'rsa-1' }, PS_PAYLOAD)
const rsaNoAlg = { jwk: { ...publicOf(RSA), kid: 'rsa-1' } }

// SEC1 `EC PRIVATE KEY` PEM, as `openssl ecparam -genkey` writes it (node:crypto's export).
const P256_PRIVATE = rfc('jwt/rfc7515.json', 'A.3 ES256 verifies with the private JWK').keys[0].jwk
const sec1 = (jwk) => createPrivateKey({ key: jwk, format: 'jwk' }).export({ type: 'sec1', format: 'pem' })
const P384_PRIVATE = { ...P384, d: b64u(Buffer.alloc(48, 0x2a)) }
const pemBlock = (label, der) =>
  `-----BEGIN ${label}-----\n${der
    .toString('base64')
    .match(/.{1,64}/g)
    .join('\n')}\n-----END ${label}-----\n`
const OID_P256 = Buffer.from('06082a8648ce3d030107', 'hex')
const EC_PARAMETERS = pemBlock('EC PARAMETERS', OID_P256)
// SEQUENCE { INTEGER 1, OCTET STRING d, [0] { OID P-256 } }: no [1] public key.
const sec1WithoutPublic = (() => {
  const d = fromB64u(P256_PRIVATE.d)
  const body = Buffer.concat([Buffer.from([2, 1, 1, 4, 32]), d, Buffer.from([0xa0, OID_P256.length]), OID_P256])
  return pemBlock('EC PRIVATE KEY', Buffer.concat([Buffer.from([0x30, body.length]), body]))
})()
// The same, with the [1] public point of another P-256 key (scalar 0x2a…2a).
const sec1WithOtherPublic = (() => {
  const d = fromB64u(P256_PRIVATE.d)
  const other = createECDH('prime256v1')
  other.setPrivateKey(Buffer.alloc(32, 0x2a))
  const point = other.getPublicKey() // uncompressed: 04 x y
  const bits = Buffer.concat([Buffer.from([3, point.length + 1, 0]), point])
  const body = Buffer.concat([
    Buffer.from([2, 1, 1, 4, 32]),
    d,
    Buffer.from([0xa0, OID_P256.length]),
    OID_P256,
    Buffer.from([0xa1, bits.length]),
    bits,
  ])
  return pemBlock('EC PRIVATE KEY', Buffer.concat([Buffer.from([0x30, body.length]), body]))
})()
const ecPublicJwk = (jwk, alg) => ({ kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y, alg, use: 'sig' })

// HMAC keys made from raw secrets (`Key.hmac`), the key RFC 4231 §4.7 and §4.8 use (131
// bytes of 0xaa, longer than a block: hashed first); tags by node:crypto.
const RFC4231_KEY = Buffer.alloc(131, 0xaa)
const RFC4231_47 = 'Test Using Larger Than Block-Size Key - Hash Key First'
const RFC4231_48 =
  'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.'
const HASH = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }
const secretKey = (secret, alg) => ({ secret_b64: Buffer.from(secret).toString('base64'), alg })
const tag = (alg, secret, message) => createHmac(HASH[alg], secret).update(message).digest()
const rawHmacCases = [
  ...['HS256', 'HS384', 'HS512'].flatMap((alg) =>
    [
      ['4.7', RFC4231_47],
      ['4.8', RFC4231_48],
    ].map(([section, message]) => ({
      name: `${alg} from a raw secret signs as HMAC does (RFC 4231 §${section} key and data)`,
      op: 'sign',
      key: secretKey(RFC4231_KEY, alg),
      signing_input: message,
      expect: { signature: b64u(tag(alg, RFC4231_KEY, message)) },
    })),
  ),
  ...[
    ['HS256', 31],
    ['HS384', 47],
    ['HS512', 63],
  ].map(([alg, length]) => ({
    name: `a raw ${alg} secret of ${length} bytes is too short`,
    op: 'sign',
    key: secretKey(Buffer.alloc(length, 0x61), alg),
    signing_input: 'x',
    expect: { error: 'weak_key' },
  })),
  {
    name: 'a raw secret with an asymmetric algorithm is refused',
    op: 'sign',
    key: secretKey(RFC4231_KEY, 'RS256'),
    signing_input: 'x',
    expect: { error: 'invalid_key' },
  },
  {
    name: 'a PEM public key given as a raw HMAC secret is refused',
    op: 'sign',
    key: secretKey(createPublicKey({ key: P256, format: 'jwk' }).export({ type: 'spki', format: 'pem' }), 'HS256'),
    signing_input: 'x',
    expect: { error: 'invalid_key' },
  },
  ...[
    ['the tag', (t) => t, true],
    [
      'the tag with its last bit flipped',
      (t) => Buffer.concat([t.subarray(0, -1), Buffer.from([t.at(-1) ^ 1])]),
      false,
    ],
    ['the first 16 bytes of the tag', (t) => t.subarray(0, 16), false],
    ['the tag and one more byte', (t) => Buffer.concat([t, Buffer.from([0])]), false],
    ['an empty signature', () => Buffer.alloc(0), false],
    ['the HS512 tag', () => tag('HS512', RFC4231_KEY, RFC4231_47), false],
  ].map(([what, make, valid]) => ({
    name: `an HS256 key from a raw secret checks ${what}: ${valid ? 'valid' : 'invalid'}`,
    op: 'verify_signature',
    key: secretKey(RFC4231_KEY, 'HS256'),
    signing_input: RFC4231_47,
    signature: b64u(make(tag('HS256', RFC4231_KEY, RFC4231_47))),
    expect: { valid },
  })),
]

// Ed25519 signatures checked by the verification rules (RFC 8032 §5.1.7, cofactorless, `S`
// below the group order L, `R` compared as bytes). Each verdict is node:crypto's (OpenSSL),
// and the script checks it is the one the case names. Runners verify each case 130 times
// with one key: the core checks a key's first 128 valid signatures, and its later ones (with
// a table of the key's multiples), by two routes.
const L_LE = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex')
const addLe = (a, b) => {
  const out = Buffer.alloc(32)
  let carry = 0
  for (let i = 0; i < 32; i++) {
    const sum = a[i] + b[i] + carry
    out[i] = sum & 0xff
    carry = sum >> 8
  }
  return out
}
const okpKey = (x) => ({ jwk: { kty: 'OKP', crv: 'Ed25519', x: b64u(x) }, alg: 'EdDSA' })
const ED_INPUT = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ2ZWN0b3JzIn0'
const edSignature = sign(null, Buffer.from(ED_INPUT), createPrivateKey({ key: ED, format: 'jwk' }))
const edCase = (what, x, message, signature, valid) => {
  const node = verify(
    null,
    Buffer.from(message),
    createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64u(x) }, format: 'jwk' }),
    signature,
  )
  if (node !== valid) throw new Error(`node:crypto says ${node} for ${what}`)
  return {
    name: `an Ed25519 key checks ${what}: ${valid ? 'valid' : 'invalid'}`,
    op: 'verify_signature',
    key: okpKey(x),
    signing_input: message,
    signature: b64u(signature),
    expect: { valid },
  }
}
const edX = fromB64u(ED.x)
const edWith = (change) => {
  const s = Buffer.from(edSignature)
  change(s)
  return s
}
// RFC 8032 §7.1 TEST 1 (the empty message) and TEST 2 (the one byte 0x72, "r").
const RFC8032_1 = {
  x: Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex'),
  sig: Buffer.from(
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    'hex',
  ),
}
const RFC8032_2 = {
  x: Buffer.from('3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', 'hex'),
  sig: Buffer.from(
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
    'hex',
  ),
}
// Edwards arithmetic in BigInt (RFC 8032 §5.1), only to build two kinds of case no key pair
// produces: a key with a small-order component (A = a·B + T, T of order 2) and R given as a
// non-canonical encoding of the right point. node:crypto still gives each verdict.
const P = 2n ** 255n - 19n
const L = 2n ** 252n + 27742317777372353535851937790883648493n
const mod = (x, m = P) => ((x % m) + m) % m
const pow = (b, e, m = P) => {
  let r = 1n
  b = mod(b, m)
  for (; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m
  return r
}
const inv = (x) => pow(x, P - 2n)
const D = mod(-121665n * inv(121666n))
const add = ([x1, y1], [x2, y2]) => {
  const t = mod(D * x1 * x2 * y1 * y2)
  return [mod((x1 * y2 + x2 * y1) * inv(1n + t)), mod((y1 * y2 + x1 * x2) * inv(1n - t))]
}
const mul = (k, pt) => {
  let r = [0n, 1n]
  for (let q = pt; k > 0n; k >>= 1n, q = add(q, q)) if (k & 1n) r = add(r, q)
  return r
}
const leBytes = (n) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse()
const fromLe = (buf) => BigInt(`0x${Buffer.from(buf).reverse().toString('hex')}`)
const encode = ([x, y]) => {
  const out = leBytes(y)
  out[31] |= Number(x & 1n) << 7
  return out
}
const BASE = [
  15112221349535400772501151409588531511454012693041857206046113283949847762202n,
  46316835694926478169428394003475163141307993866256225615783033603165251855960n,
]
const ORDER_2 = [0n, P - 1n]
const challenge = (r, a, message) => mod(fromLe(createHash('sha512').update(r).update(a).update(message).digest()), L)
// a·B + T with a fixed a, and a signature of `message` made with a and r: valid (without the
// cofactor) exactly when [k]T is the identity, that is when k is even.
const mixedA = 0x1d2c3b4a5968778695a4b3c2d1e0f1e2d3c4b5a69788796a5b4c3d2e1f0e1d2cn
const mixedKey = encode(add(mul(mixedA, BASE), ORDER_2))
const mixedR = encode(mul(0x5eedn, BASE))
const mixedMessage = (even) => {
  for (let i = 0; ; i++) {
    const message = `a key with an order-2 component, ${even ? 'even' : 'odd'} k, ${i}`
    if ((challenge(mixedR, mixedKey, message) % 2n === 0n) === even) return message
  }
}
const mixedSignature = (message) =>
  Buffer.concat([mixedR, leBytes(mod(0x5eedn + challenge(mixedR, mixedKey, message) * mixedA, L))])
// S = k·a for the RFC 8032 TEST 1 key (a from its seed): [S]B - [k]A is the identity, whose
// encoding is 01 00…00; y = p + 1 encodes the same point non-canonically.
const test1A = (() => {
  const h = createHash('sha512')
    .update(Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'))
    .digest()
  h[0] &= 248
  h[31] &= 127
  h[31] |= 64
  return fromLe(h.subarray(0, 32))
})()
const identityR = (canonical) => (canonical ? leBytes(1n) : leBytes(P + 1n))
const identitySignature = (canonical, message) => {
  const r = identityR(canonical)
  return Buffer.concat([r, leBytes(mod(challenge(r, RFC8032_1.x, message) * test1A, L))])
}
if (!encode(mul(test1A, BASE)).equals(RFC8032_1.x)) throw new Error('TEST 1 key')

const ed25519Cases = [
  edCase('its signature of a JWS signing input', edX, ED_INPUT, edSignature, true),
  edCase('the same signature over another input', edX, `${ED_INPUT}x`, edSignature, false),
  edCase(
    'S + L (the same point, a non-canonical scalar)',
    edX,
    ED_INPUT,
    edWith((s) => addLe(s.subarray(32), L_LE).copy(s, 32)),
    false,
  ),
  edCase(
    'S = L',
    edX,
    ED_INPUT,
    edWith((s) => L_LE.copy(s, 32)),
    false,
  ),
  edCase(
    'S with its top three bits set',
    edX,
    ED_INPUT,
    edWith((s) => {
      s[63] |= 0xe0
    }),
    false,
  ),
  edCase(
    "R's sign bit flipped",
    edX,
    ED_INPUT,
    edWith((s) => {
      s[31] ^= 0x80
    }),
    false,
  ),
  edCase(
    "S's last bit flipped",
    edX,
    ED_INPUT,
    edWith((s) => {
      s[32] ^= 1
    }),
    false,
  ),
  edCase('63 bytes of the signature', edX, ED_INPUT, edSignature.subarray(0, 63), false),
  edCase('RFC 8032 TEST 1 (the empty message)', RFC8032_1.x, '', RFC8032_1.sig, true),
  edCase('RFC 8032 TEST 2 (the message "r")', RFC8032_2.x, 'r', RFC8032_2.sig, true),
  edCase('RFC 8032 TEST 2 over "s"', RFC8032_2.x, 's', RFC8032_2.sig, false),
  edCase("RFC 8032 TEST 1's signature under TEST 2's key", RFC8032_2.x, '', RFC8032_1.sig, false),
  ...[true, false].map((even) => {
    const message = mixedMessage(even)
    return edCase(
      `a key with an order-2 component, k ${even ? 'even' : 'odd'}`,
      mixedKey,
      message,
      mixedSignature(message),
      even,
    )
  }),
  ...[true, false].map((canonical) =>
    edCase(
      `R the identity encoded ${canonical ? 'canonically' : 'as y = p + 1'} with S = k·a`,
      RFC8032_1.x,
      'identity R',
      identitySignature(canonical, 'identity R'),
      canonical,
    ),
  ),
]

// Large payloads (1 KiB and more), whose strings the core finds through a vector pass over
// the payload on x86-64 (and by scanning elsewhere): plain runs of strings, escapes after
// them, whitespace between them, and the ways a string can be malformed in the middle of
// one. Each expected result is node's JSON.parse's (claims, or a SyntaxError), but for the
// unpaired surrogate, which JSON.parse takes and every runtime here refuses.
const grant = (n) => `"orders:${['read', 'write'][n % 2]}:region-${String(n).padStart(3, '0')}"`
const largeText = (elements) => `{"sub":"user-1","exp":1700000600,"permissions":[${elements.join(',')}]}`
const plainRun = (n, from = 0) => Array.from({ length: n }, (_, i) => grant(from + i))
const largeCase = (name, text, { malformed = false, parses = !malformed, validation = {} } = {}) => {
  let parsed = null
  try {
    parsed = JSON.parse(text)
  } catch {}
  if ((parsed !== null) !== parses) throw new Error(`JSON.parse disagrees with ${name}`)
  if (text.length < 1024) throw new Error(`${name}: under 1 KiB`)
  return {
    name,
    op: 'verify',
    keys: nestKey,
    token: hs256(text),
    validation,
    expect: malformed ? { error: 'malformed_token' } : { claims: parsed },
  }
}
const largeCases = [
  largeCase('a 6 KB payload (an 8.5 KB token): an array of 250 plain strings verifies', largeText(plainRun(250)), {
    validation: { max_token_bytes: 65536 },
  }),
  largeCase(
    'a 2 KB payload: escaped quotes, backslashes and \\u escapes after runs of plain strings verify',
    largeText([
      ...plainRun(30),
      '"say \\"hi\\""',
      ...plainRun(5, 30),
      '"C:\\\\path\\\\"',
      '"\\u00e9t\\u00e9 \\ud83d\\ude00"',
      ...plainRun(30, 35),
      '"\\\\"',
      '""',
      ...plainRun(3, 65),
    ]),
  ),
  largeCase(
    'a 2 KB payload: spaces, tabs and newlines between the strings verify',
    // One whitespace character between a comma and the next string (`,\n"`), and runs of them.
    largeText(plainRun(70)).replaceAll(',"orders:w', ',\n"orders:w').replaceAll(',"orders:r', ' ,\r\n\t "orders:r'),
  ),
  largeCase(
    'a 2 KB payload: multi-byte UTF-8 inside the strings verifies',
    largeText(plainRun(60).map((g, i) => (i % 3 ? g : g.replace('region', 'r\u00e9gion-\u{1f600}')))),
  ),
  largeCase(
    'a raw control character (U+0001) inside a string in the middle of a 2 KB array is malformed',
    largeText([...plainRun(35), '"a\u0001b"', ...plainRun(35, 35)]),
    { malformed: true },
  ),
  largeCase(
    'a raw newline inside a string in the middle of a 2 KB array is malformed',
    largeText([...plainRun(35), '"a\nb"', ...plainRun(35, 35)]),
    { malformed: true },
  ),
  largeCase(
    'an unpaired surrogate escape (\\ud800) in the middle of a 2 KB array is malformed',
    largeText([...plainRun(35), '"a\\ud800b"', ...plainRun(35, 35)]),
    { malformed: true, parses: true },
  ),
  largeCase(
    'two commas in a row in the middle of a 2 KB array are malformed',
    largeText([...plainRun(35), '', ...plainRun(35, 35)]),
    { malformed: true },
  ),
  largeCase(
    'a string in a 2 KB array left open at the end of the payload is malformed',
    `{"sub":"user-1","exp":1700000600,"permissions":[${plainRun(70).join(',')},"unterminated`,
    { malformed: true },
  ),
]

const cases = [
  // 120, not the limit's 126: the expected claims sit 5 levels deep in this file, and a
  // JSON reader with serde_json's limit (128) must still read the file. Each runtime's own
  // tests verify 126 levels.
  {
    name: 'claims nesting 120 levels inside the payload verify',
    op: 'verify',
    keys: nestKey,
    token: hs256(nestedText(120)),
    validation: {},
    expect: { claims: nested(120) },
  },
  {
    name: 'claims nesting 127 levels inside the payload are malformed in every runtime',
    op: 'verify',
    keys: nestKey,
    token: hs256(nestedText(127)),
    validation: {},
    expect: { error: 'malformed_token' },
  },
  {
    name: 'claims nesting 5000 levels are malformed, not parsed',
    op: 'verify',
    keys: nestKey,
    token: hs256(nestedText(5000)),
    validation: { max_token_bytes: 65536 },
    expect: { error: 'malformed_token' },
  },

  refused('an SPKI PEM public key (P-256)', pem(P256)),
  refused('an SPKI PEM public key with a leading space', ` ${pem(P256)}`),
  refused('an SPKI PEM public key with CRLF line ends', pem(P256).replaceAll('\n', '\r\n')),
  refused('a PKCS#1 PEM RSA public key', pem(RSA, 'pkcs1')),
  refused('an SPKI PEM RSA public key', pem(RSA)),
  refused('a PKCS#8 PEM private key', privatePem(ED)),
  refused('a DER SPKI public key (P-256)', der(P256)),
  refused('a DER SPKI public key (RSA)', der(RSA)),
  refused('a DER SPKI public key (Ed25519)', der(ED)),
  refused('an OpenSSH public key', sshEd25519),
  refused('a public JWK as JSON', JSON.stringify(publicOf(P256))),
  refused('a private JWK as JSON', JSON.stringify(ED)),
  refused('a JWK set as JSON', JSON.stringify({ keys: [publicOf(RSA)] })),
  {
    name: 'an HMAC secret of text is accepted (not key material)',
    op: 'import_key',
    key: octOf('this passphrase is long enough: {"kty"} ssh-rsa'),
    expect: { public_jwk: null },
  },
  {
    name: 'a P-256 point on its curve imports (RFC 7515 A.3)',
    op: 'import_key',
    key: { jwk: publicOf(P256) },
    expect: { public_jwk: { kty: 'EC', crv: 'P-256', x: P256.x, y: P256.y, alg: 'ES256', use: 'sig' } },
  },
  {
    name: 'a P-256 point off its curve is refused at import',
    op: 'import_key',
    key: { jwk: { ...publicOf(P256), y: flipLast(P256.y) } },
    expect: { error: 'invalid_key' },
  },
  {
    name: 'a P-384 point on its curve imports',
    op: 'import_key',
    key: { jwk: P384 },
    expect: { public_jwk: { ...P384, alg: 'ES384', use: 'sig' } },
  },
  {
    name: 'a P-384 point off its curve is refused at import',
    op: 'import_key',
    key: { jwk: { ...P384, y: flipLast(P384.y) } },
    expect: { error: 'invalid_key' },
  },
  {
    name: 'P-256 coordinates split 33/31 bytes are refused (another thumbprint for one point)',
    op: 'import_key',
    key: { jwk: { kty: 'EC', crv: 'P-256', x: b64u(joined.subarray(0, 33)), y: b64u(joined.subarray(33)) } },
    expect: { error: 'invalid_key' },
  },
  {
    name: 'a P-256 coordinate with a leading zero byte is refused',
    op: 'import_key',
    key: { jwk: { kty: 'EC', crv: 'P-256', x: b64u(Buffer.concat([Buffer.alloc(1), fromB64u(P256.x)])), y: P256.y } },
    expect: { error: 'invalid_key' },
  },
  {
    name: 'a JWKS keeps its good keys and skips a point off its curve',
    op: 'import_jwks',
    jwks: {
      keys: [
        { ...publicOf(P256), kid: 'off', y: flipLast(P256.y) },
        { ...publicOf(P256), kid: 'good' },
      ],
    },
    expect: { kids: ['good'] },
  },
  {
    name: 'a JWKS with two keys under one kid imports nothing',
    op: 'import_jwks',
    jwks: {
      keys: [
        { ...publicOf(P256), kid: 'same' },
        { ...publicOf(ED), kid: 'same' },
        { ...publicOf(ED), kid: 'other' },
      ],
    },
    expect: { error: 'invalid_key' },
  },
  {
    name: 'a JWKS with two keys without a kid imports nothing',
    op: 'import_jwks',
    jwks: { keys: [publicOf(P256), publicOf(ED)] },
    expect: { error: 'invalid_key' },
  },
  {
    name: 'a JWKS whose duplicate kid is on an unusable key imports the rest',
    op: 'import_jwks',
    jwks: {
      keys: [
        { kty: 'oct', k: 'c2VjcmV0', kid: 'same' },
        { ...publicOf(ED), kid: 'same' },
      ],
    },
    expect: { kids: ['same'] },
  },
  {
    name: 'an Ed25519 key exports alg Ed25519 when loaded under that name',
    op: 'import_key',
    key: { jwk: publicOf(ED), alg: 'Ed25519' },
    expect: { public_jwk: { kty: 'OKP', crv: 'Ed25519', x: ED.x, alg: 'Ed25519', use: 'sig' } },
  },
  {
    name: 'a JWK declaring Ed25519 imports',
    op: 'import_key',
    key: { jwk: { ...publicOf(ED), alg: 'Ed25519' } },
    expect: { public_jwk: { kty: 'OKP', crv: 'Ed25519', x: ED.x, alg: 'Ed25519', use: 'sig' } },
  },
  {
    name: "a JWK declaring Ed25519 loaded as EdDSA takes the caller's name",
    op: 'import_key',
    key: { jwk: { ...publicOf(ED), alg: 'Ed25519' }, alg: 'EdDSA' },
    expect: { public_jwk: { kty: 'OKP', crv: 'Ed25519', x: ED.x, alg: 'EdDSA', use: 'sig' } },
  },
  {
    name: 'a JWS with alg Ed25519 verifies with an EdDSA key (RFC 9864)',
    op: 'verify_jws',
    keys: [edPublic],
    token: ED_TOKEN,
    expect: { header: { alg: 'Ed25519' }, payload_b64: b64u('Example of Ed25519 signing') },
  },
  {
    name: 'a JWS with alg EdDSA verifies with an Ed25519 key (RFC 8037 A.5)',
    op: 'verify_jws',
    keys: [{ ...edPublic, alg: 'Ed25519' }],
    token: EDDSA_TOKEN,
    expect: { header: { alg: 'EdDSA' }, payload_b64: EDDSA_TOKEN.split('.')[1] },
  },
  {
    name: 'an allow-list naming EdDSA admits alg Ed25519',
    op: 'verify_jws',
    keys: [edPublic],
    token: ED_TOKEN,
    algorithms: ['EdDSA'],
    expect: { header: { alg: 'Ed25519' }, payload_b64: b64u('Example of Ed25519 signing') },
  },
  {
    name: 'an allow-list naming Ed25519 admits alg EdDSA',
    op: 'verify_jws',
    keys: [edPublic],
    token: EDDSA_TOKEN,
    algorithms: ['Ed25519'],
    expect: { header: { alg: 'EdDSA' }, payload_b64: EDDSA_TOKEN.split('.')[1] },
  },
  {
    name: 'an allow-list of other algorithms refuses alg Ed25519',
    op: 'verify_jws',
    keys: [edPublic],
    token: ED_TOKEN,
    algorithms: ['ES256', 'RS256'],
    expect: { error: 'algorithm_not_allowed' },
  },
  {
    name: 'a JWT with alg Ed25519 verifies',
    op: 'verify',
    keys: [edPublic],
    token: ED_JWT,
    validation: {},
    expect: { claims: CLAIMS },
  },
  {
    name: 'an Ed25519-named key signs as RFC 8032 does (A.4 signing input)',
    op: 'sign',
    key: { jwk: ED, alg: 'Ed25519' },
    signing_input: EDDSA_TOKEN.split('.').slice(0, 2).join('.'),
    expect: { signature: EDDSA_TOKEN.split('.')[2] },
  },
  // #20 item 17: an RSA key published without `alg` verifies what the verifier allows.
  {
    name: 'an RSA JWK without alg verifies PS256 when the verifier allows PS256',
    op: 'verify_jws',
    keys: [rsaNoAlg],
    token: PS_TOKEN,
    algorithms: ['RS256', 'PS256'],
    expect: { header: { alg: 'PS256', kid: 'rsa-1' }, payload_b64: b64u(PS_PAYLOAD) },
  },
  {
    name: 'an RSA JWK without alg verifies PS256 only when an allow-list names it',
    op: 'verify_jws',
    keys: [rsaNoAlg],
    token: PS_TOKEN,
    expect: { error: 'algorithm_not_allowed' },
  },
  {
    name: 'an RSA JWK without alg: an allow-list of RS256 alone refuses PS256',
    op: 'verify_jws',
    keys: [rsaNoAlg],
    token: PS_TOKEN,
    algorithms: ['RS256'],
    expect: { error: 'algorithm_not_allowed' },
  },
  {
    name: 'an RSA JWK declaring RS256 never verifies PS256',
    op: 'verify_jws',
    keys: [{ jwk: { ...rsaNoAlg.jwk, alg: 'RS256' } }],
    token: PS_TOKEN,
    algorithms: ['RS256', 'PS256'],
    expect: { error: 'algorithm_not_allowed' },
  },
  {
    name: 'an RSA JWK without alg loaded as RS256 by the caller never verifies PS256',
    op: 'verify_jws',
    keys: [{ ...rsaNoAlg, alg: 'RS256' }],
    token: PS_TOKEN,
    algorithms: ['RS256', 'PS256'],
    expect: { error: 'algorithm_not_allowed' },
  },
  {
    name: 'an RSA JWK declaring PS256 verifies PS256',
    op: 'verify_jws',
    keys: [{ jwk: { ...rsaNoAlg.jwk, alg: 'PS256' } }],
    token: PS_TOKEN,
    expect: { header: { alg: 'PS256', kid: 'rsa-1' }, payload_b64: b64u(PS_PAYLOAD) },
  },
  {
    name: 'an RSA JWK without alg verifies RS256 with no allow-list (RFC 7515 A.2, no kid)',
    op: 'verify_jws',
    keys: [rsaNoAlg],
    token: rfc('jwt/rfc7515.json', 'A.2 RS256 verifies with the public key').token,
    expect: {
      header: { alg: 'RS256' },
      payload_b64: rfc('jwt/rfc7515.json', 'A.2 RS256 verifies with the public key').token.split('.')[1],
    },
  },
  {
    name: 'an RSA JWK without alg is published again without alg',
    op: 'import_key',
    key: rsaNoAlg,
    expect: { public_jwk: { kty: 'RSA', n: RSA.n, e: RSA.e, use: 'sig', kid: 'rsa-1' } },
  },
  // #20 item 18: SEC1 EC private keys.
  {
    name: 'a SEC1 EC PRIVATE KEY PEM (P-256) imports',
    op: 'import_key',
    key: { pem: sec1(P256_PRIVATE), alg: 'ES256' },
    expect: { public_jwk: ecPublicJwk(P256_PRIVATE, 'ES256') },
  },
  {
    name: 'a SEC1 PEM after its EC PARAMETERS block (openssl ecparam -genkey) imports',
    op: 'import_key',
    key: { pem: EC_PARAMETERS + sec1(P256_PRIVATE), alg: 'ES256' },
    expect: { public_jwk: ecPublicJwk(P256_PRIVATE, 'ES256') },
  },
  {
    name: 'a SEC1 EC PRIVATE KEY PEM (P-384) imports',
    op: 'import_key',
    key: { pem: sec1(P384_PRIVATE), alg: 'ES384' },
    expect: { public_jwk: ecPublicJwk(P384_PRIVATE, 'ES384') },
  },
  {
    name: 'a SEC1 P-256 key is not an ES384 key',
    op: 'import_key',
    key: { pem: sec1(P256_PRIVATE), alg: 'ES384' },
    expect: { error: 'invalid_key' },
  },
  {
    name: 'a SEC1 key is not an RSA key',
    op: 'import_key',
    key: { pem: sec1(P256_PRIVATE), alg: 'RS256' },
    expect: { error: 'invalid_key' },
  },
  {
    name: "a SEC1 key whose public point is not its private key's is refused",
    op: 'import_key',
    key: { pem: sec1WithOtherPublic, alg: 'ES256' },
    expect: { error: 'invalid_key' },
  },
  {
    name: 'a SEC1 key without its public point is refused with a clear error',
    op: 'import_key',
    key: { pem: sec1WithoutPublic, alg: 'ES256' },
    expect: { error: 'invalid_key' },
  },
  {
    name: 'a P-256 key is not an Ed25519 key',
    op: 'import_key',
    key: { jwk: publicOf(P256), alg: 'Ed25519' },
    expect: { error: 'invalid_key' },
  },
  ...rawHmacCases,
  ...ed25519Cases,
  ...largeCases,
]

writeVectors(
  {
    'jwt/keys.json': {
      area: 'jwt',
      source:
        'tools/jwt_cases.mjs: RFC 7515 A.2/A.3 and RFC 8037 A.1 keys, a P-384 key from a fixed scalar; PEM/DER (SPKI, PKCS#1, PKCS#8, SEC1) exported and Ed25519 signed and checked by node:crypto, RFC 8032 §7.1 TEST 1 and 2; the OpenSSH line assembled by the script; PS256 encoded by the script with a fixed salt (RFC 8017 EMSA-PSS), the RSA operation and a PSS check by node:crypto',
      description:
        "Key import hardening: public- or private-key material (PEM, DER, OpenSSH, JWK JSON) is refused as an HMAC secret (here inside an `oct` JWK, the bytes every runtime's Key.hmac receives); EC points must lie on their curve and each coordinate must be the full field size. A JWKS import is all or nothing: two usable keys under one kid (or two without one) import nothing. RFC 9864: `Ed25519` and `EdDSA` name one scheme with an Ed25519 key, in tokens, allow-lists and JWKs; a key signs with the name it was loaded under. Claims nest at most 127 levels counting the payload object (one limit, in the core, for every runtime). Payloads of 1 KiB and more (long arrays of strings, with escapes, whitespace and multi-byte text among them) verify or are malformed as JSON.parse reads them, but for an unpaired `\\u` surrogate, which is malformed. An RSA JWK without `alg` verifies RS256, and the other RSA algorithms a verifier's allow-list names; a JWK or a caller naming an algorithm binds the key to it. SEC1 `EC PRIVATE KEY` PEM (also after an `EC PARAMETERS` block) imports when it carries its public point. A key spec is a JWK (`jwk`, optional `alg`), a PEM (`pem`, `alg`) or an HMAC secret (`secret_b64`, `alg`: what `Key.hmac` receives); raw HMAC tags follow RFC 4231 §4.7/§4.8's key and data, and a tag is checked in full (no prefix, no extra byte). Ed25519 signatures (RFC 8032 §7.1 TEST 1 and 2, and node:crypto's over a JWS signing input) verify cofactorless with `S` below the group order and `R` compared as bytes; `verify_signature` cases are checked 130 times with one key, as a key's first 128 valid signatures and its later ones take different routes in the core; a key with an order-2 component accepts a signature exactly when `[k]T` vanishes (cofactorless), and `R` the identity encoded as y = p + 1 is refused.",
      cases,
    },
  },
  'jwt_cases.mjs',
)
