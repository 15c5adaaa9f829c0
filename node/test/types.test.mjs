// The declarations type-check typical code, and name every runtime export.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import cjs from '../index.js'

const root = fileURLToPath(new URL('..', import.meta.url))

test('typical code type-checks under tsc --strict', () => {
  execFileSync(
    process.execPath,
    [
      createRequire(import.meta.url).resolve('typescript/bin/tsc'),
      '--noEmit',
      '--strict',
      '--skipLibCheck',
      '--esModuleInterop',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      'test/usage.ts',
    ],
    { cwd: root, stdio: 'pipe' },
  )
})

test('index.d.ts declares every runtime export', () => {
  const dts = readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8')
  for (const name of Object.keys(cjs)) {
    assert.match(dts, new RegExp(`(class|function|const) ${name}\\b`), `index.d.ts does not declare ${name}`)
  }
  for (const code of cjs.ERROR_CODES) assert.ok(dts.includes(`'${code}'`), code)
})

test('the ESM entry exports everything the CommonJS one does', async () => {
  const esm = await import('../index.mjs')
  assert.deepEqual(
    Object.keys(esm)
      .filter((k) => k !== 'default')
      .sort(),
    Object.keys(cjs).sort(),
  )
})
