// #20 item 7: a `__proto__` member in a token's header or claims must stay an own
// property of the object returned, never become its prototype (an app reading
// `header.isAdmin` would otherwise see a value the signer smuggled in). One test per
// function that returns an object built from a token's JSON.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import * as ag from '../index.mjs'
import { Gate } from '../http.js'

const SECRET = Buffer.from('prototype-tests-hs256-secret-0123456789')
const b64u = (text) => Buffer.from(text).toString('base64url')
// Written as text: an object literal's `__proto__` would set the prototype right here.
const HEADER = '{"alg":"HS256","typ":"JWT","__proto__":{"isAdmin":true}}'
const CLAIMS =
  '{"sub":"alice","aud":"api","exp":4102444800,"__proto__":{"isAdmin":true},"nested":{"__proto__":{"isAdmin":true}}}'
const input = `${b64u(HEADER)}.${b64u(CLAIMS)}`
const TOKEN = `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`
const keys = () => new ag.KeySet([ag.Key.hmac(SECRET, 'HS256')])

function assertOwn(object, where) {
  assert.equal(Object.getPrototypeOf(object), Object.prototype, `${where}: prototype replaced`)
  assert.equal(object.isAdmin, undefined, `${where}: inherited isAdmin`)
  assert.ok(Object.hasOwn(object, '__proto__'), `${where}: the member is kept as an own property`)
  assert.deepEqual(JSON.parse(JSON.stringify(object.__proto__)), { isAdmin: true })
}

test('KeySet.verifyJws: the header keeps __proto__ as an own property', () => {
  const { header } = keys().verifyJws(TOKEN)
  assertOwn(header, 'verifyJws header')
})

test('peekUnverified: header and claims keep __proto__ as own properties', () => {
  const { header, claims } = ag.peekUnverified(TOKEN)
  assertOwn(header, 'peek header')
  assertOwn(claims, 'peek claims')
  assertOwn(claims.nested, 'peek nested claim')
})

test('KeySet.verify and a Verifier: claims keep __proto__ as an own property', () => {
  const set = keys()
  const claims = set.verify(TOKEN, { audience: 'api' })
  assertOwn(claims, 'verify claims')
  assertOwn(claims.nested, 'verify nested claim')
  assertOwn(set.verifier({ audience: 'api' }).verify(TOKEN), 'Verifier claims')
})

test("Gate: the admitted request's claims keep __proto__ as an own property", () => {
  const gate = new Gate({ keys: keys(), verify: { audience: 'api' } })
  const headers = { authorization: `Bearer ${TOKEN}` }
  const context = gate.authenticate((name) => headers[name], '203.0.113.9')
  assertOwn(context.claims, 'gate claims')
})

// #20 item 6: one nesting limit, in the core (Node accepted 100,000 levels before).
test('claims nest at most 127 levels counting the payload, as in every runtime', () => {
  const secret = Buffer.alloc(32, 7)
  const token = (levels) => {
    const text = `{"exp":4102444800,"data":${'['.repeat(levels)}"deep"${']'.repeat(levels)}}`
    const signing = `${b64u('{"alg":"HS256"}')}.${b64u(text)}`
    return `${signing}.${createHmac('sha256', secret).update(signing).digest('base64url')}`
  }
  const set = new ag.KeySet([ag.Key.hmac(secret, 'HS256')])
  let value = set.verify(token(126)).data
  let depth = 0
  while (Array.isArray(value)) {
    depth += 1
    value = value[0]
  }
  assert.deepEqual([depth, value], [126, 'deep'])
  for (const levels of [127, 100_000]) {
    assert.throws(
      () => set.verify(token(levels), { maxTokenBytes: 1 << 20 }),
      (e) => e.code === 'MALFORMED_TOKEN' && /deeper than 127/.test(e.message),
    )
  }
})
