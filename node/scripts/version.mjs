// One version: the workspace's `[workspace.package] version` in Cargo.toml. Every other
// manifest takes it from there; this checks (or, with --write, sets) the ones that must
// spell it out: node/package.json and native.js (napi-rs writes it into its loader's
// version check), and that no crate sets a version of its own. The wheel (maturin) and the
// mobile packages (the release workflow, from `cargo metadata`) read it from Cargo.toml.
//
//   node node/scripts/version.mjs           exit 1 on a mismatch (make lint)
//   node node/scripts/version.mjs --write   set them to the workspace version
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

export function workspaceVersion() {
  const toml = readFileSync(join(ROOT, 'Cargo.toml'), 'utf8')
  const section = toml.split(/^\[/m).find((s) => s.startsWith('workspace.package]'))
  const m = section && /^version\s*=\s*"([^"]+)"/m.exec(section)
  if (!m) throw new Error('Cargo.toml has no [workspace.package] version')
  return m[1]
}

// Each manifest that states the version: where, how to read it, how to set it.
const MANIFESTS = [
  {
    file: 'node/package.json',
    read: (text) => JSON.parse(text).version,
    write: (text, v) => text.replace(/^(\s*"version":\s*")[^"]+(")/m, `$1${v}$2`),
  },
  {
    file: 'node/native.js',
    read: (text) => /expected ([^ ]+) but got/.exec(text)?.[1],
    write: (text, v) => text.replaceAll(/expected [^ ]+ but got/g, `expected ${v} but got`),
  },
]

// Crates must inherit the workspace version rather than state their own.
const CRATES = ['core', 'cli', 'python', 'node', 'bindings', 'bindings/uniffi-bindgen', 'tests/https-server']

function main() {
  const version = workspaceVersion()
  const write = process.argv.includes('--write')
  const problems = []
  for (const m of MANIFESTS) {
    const path = join(ROOT, m.file)
    const text = readFileSync(path, 'utf8')
    const found = m.read(text)
    if (found === version) continue
    if (write) writeFileSync(path, m.write(text, version))
    else problems.push(`${m.file} says ${found}, the workspace ${version}`)
  }
  for (const crate of CRATES) {
    let toml
    try {
      toml = readFileSync(join(ROOT, crate, 'Cargo.toml'), 'utf8')
    } catch {
      continue
    }
    const own = /^\[package\][^[]*?^version\s*=\s*(.+)$/ms.exec(toml)
    if (own && !/workspace\s*=\s*true/.test(own[1]))
      problems.push(`${crate}/Cargo.toml sets its own version (${own[1].trim()}): use version.workspace = true`)
  }
  if (problems.length) {
    console.error(`${problems.join('\n')}\nrun: node node/scripts/version.mjs --write`)
    process.exit(1)
  }
  console.log(`one version: ${version}`)
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main()
