// The store the vector runners use: in memory, or Redis while a test selects it, so the
// same vectors run against both backends.
import { randomBytes } from 'node:crypto'
import * as ag from '../index.mjs'

let current = null

/**
 * `AUTHGATE_REDIS_URL` (set by `make test`), or null: Redis tests then skip, unless
 * `AUTHGATE_REQUIRE_REDIS` is set, which fails them.
 */
export function redisUrl() {
  const url = process.env.AUTHGATE_REDIS_URL || null
  if (!url && process.env.AUTHGATE_REQUIRE_REDIS)
    throw new Error('AUTHGATE_REQUIRE_REDIS is set but AUTHGATE_REDIS_URL is not')
  return url
}

export function redisStore(url, prefix) {
  return new ag.RedisStore(url, { prefix: prefix ?? `test:${randomBytes(8).toString('hex')}:` })
}

export async function onRedis(url, fn) {
  current = url
  try {
    return await fn()
  } finally {
    current = null
  }
}

export function newStore(capacity) {
  if (capacity !== undefined && capacity !== null) return new ag.MemoryStore(capacity)
  return current ? redisStore(current) : new ag.MemoryStore()
}
