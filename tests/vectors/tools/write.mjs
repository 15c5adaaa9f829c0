// Writes generated vector files, or with `--check` fails when a committed one differs from
// what its tool would write now (make test runs every tool with --check).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** `files` maps a path below tests/vectors to its document; `tool` names the script. */
export function writeVectors(files, tool) {
  const check = process.argv.includes('--check')
  let stale = false
  for (const [name, doc] of Object.entries(files)) {
    const path = join(root, name)
    const text = `${JSON.stringify(doc, null, 2)}\n`
    if (check) {
      let current = ''
      try {
        current = readFileSync(path, 'utf8')
      } catch {
        /* missing */
      }
      if (current !== text) {
        console.error(`${name} is stale: run node tests/vectors/tools/${tool}`)
        stale = true
      }
    } else {
      mkdirSync(dirname(path), { recursive: true })
      writeFileSync(path, text)
    }
  }
  if (stale) process.exit(1)
}
