// One version: the workspace's `[workspace.package] version` in Cargo.toml. Every other
// manifest takes it from there; this checks (or, with --write, sets) the ones that must
// spell it out: node/package.json, its lock file, native.js (napi-rs writes it into its
// loader's version check) and the authgate-core version the crates depend on, that no
// crate sets a version of its own, and that npm and PyPI name the workspace's repository. The wheel (maturin) and the
// mobile packages (the release workflow, through this script's workspaceVersion) read it from Cargo.toml.
//
//   node node/scripts/version.mjs           exit 1 on a mismatch (make lint)
//   node node/scripts/version.mjs --write   set them to the workspace version
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** A string field of Cargo.toml's `[workspace.package]`. */
function workspaceField(name) {
  const toml = readFileSync(join(ROOT, 'Cargo.toml'), 'utf8')
  const section = toml.split(/^\[/m).find((s) => s.startsWith('workspace.package]'))
  const m = section && new RegExp(`^${name}\\s*=\\s*"([^"]+)"`, 'm').exec(section)
  if (!m) throw new Error(`Cargo.toml has no [workspace.package] ${name}`)
  return m[1]
}

export const workspaceVersion = () => workspaceField('version')
export const workspaceRepository = () => workspaceField('repository')

const lockVersions = (text) => {
  const lock = JSON.parse(text)
  return lock.version === lock.packages?.['']?.version
    ? lock.version
    : `${lock.version} and ${lock.packages?.['']?.version}`
}

// Each manifest that states the version: where, how to read it, how to set it.
const MANIFESTS = [
  {
    file: 'Cargo.toml',
    // the crates depend on authgate-core by path and by this version (what crates.io gets)
    read: (text) => /^authgate-core\s*=\s*\{[^}]*version\s*=\s*"([^"]+)"/m.exec(text)?.[1],
    write: (text, v) => text.replace(/^(authgate-core\s*=\s*\{[^}]*version\s*=\s*")[^"]+(")/m, `$1${v}$2`),
  },
  {
    file: 'node/package-lock.json',
    read: lockVersions,
    write: (text, v) => {
      const lock = JSON.parse(text)
      lock.version = v
      lock.packages[''].version = v
      return `${JSON.stringify(lock, null, 2)}\n`
    },
  },
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
  // One repository: the workspace's, in the npm and PyPI metadata (npm's --provenance
  // checks it against the repository the release runs in).
  const repository = workspaceRepository()
  const pkg = JSON.parse(readFileSync(join(ROOT, 'node/package.json'), 'utf8'))
  if (pkg.repository?.url !== `git+${repository}.git`)
    problems.push(`node/package.json repository.url is ${pkg.repository?.url}, the workspace's git+${repository}.git`)
  const pyproject = readFileSync(join(ROOT, 'python/pyproject.toml'), 'utf8')
  if (!new RegExp(`^Repository = "${repository.replaceAll('.', '\\.')}"$`, 'm').test(pyproject))
    problems.push(`python/pyproject.toml [project.urls] Repository is not ${repository}`)
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
