// The README's Node quick tour runs as written (importing the package by its own name).
import { test } from 'node:test'
import { readFileSync, writeFileSync, rmSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { redisUrl } from './stores.mjs'

test('README js blocks run', async () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1])
  if (blocks.length === 0) throw new Error('the README has no Node example')
  for (const [i, code] of blocks.entries()) {
    // The Redis examples need a server: `make test` starts one (and requires it).
    if (code.includes('RedisStore')) {
      const url = redisUrl()
      if (!url) continue
      process.env.REDIS_URL ??= url
    }
    const file = fileURLToPath(new URL(`./.readme-${i}.mjs`, import.meta.url))
    writeFileSync(file, code)
    try {
      await import(pathToFileURL(file).href)
    } finally {
      rmSync(file)
    }
  }
})
