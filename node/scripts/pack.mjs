// Writes the npm packages into dist/ as tarballs, in the napi-rs layout: `authgate` (the
// JavaScript, types and loader, no binary) with one `authgate-<platform>` package per
// native binary, wired as its optionalDependencies, so npm installs only the one that
// fits the machine.
//
//   node node/scripts/pack.mjs [--artifacts DIR] [--out DIR] linux-x64-gnu [darwin-arm64 ...]
//
// Binaries are taken from node/authgate.<platform>.node (what `napi build --platform`
// writes) or from DIR (the release workflow's downloaded artifacts). The version is the
// workspace's (Cargo.toml); node/package.json must say the same (`make lint` checks it).
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { workspaceVersion } from './version.mjs'

const NODE = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const ROOT = resolve(NODE, '..')

// What npm matches against the machine (package.json os, cpu, libc).
const PLATFORMS = {
  'linux-x64-gnu': { os: 'linux', cpu: 'x64', libc: 'glibc' },
  'linux-arm64-gnu': { os: 'linux', cpu: 'arm64', libc: 'glibc' },
  'linux-x64-musl': { os: 'linux', cpu: 'x64', libc: 'musl' },
  'linux-arm64-musl': { os: 'linux', cpu: 'arm64', libc: 'musl' },
  'darwin-x64': { os: 'darwin', cpu: 'x64' },
  'darwin-arm64': { os: 'darwin', cpu: 'arm64' },
  'win32-x64-msvc': { os: 'win32', cpu: 'x64' },
}

function parseArgs(argv) {
  const out = { artifacts: null, dir: join(ROOT, 'dist'), platforms: [] }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--artifacts') out.artifacts = argv[++i]
    else if (argv[i] === '--out') out.dir = resolve(argv[++i])
    else out.platforms.push(argv[i])
  }
  if (out.platforms.length === 0) throw new Error('name at least one platform, e.g. linux-x64-gnu')
  for (const p of out.platforms) {
    if (!PLATFORMS[p]) throw new Error(`unknown platform ${p}; known: ${Object.keys(PLATFORMS).join(', ')}`)
  }
  return out
}

function pack(dir, out) {
  const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', out], { cwd: dir, encoding: 'utf8' })
  return join(out, name.trim().split('\n').pop())
}

function main() {
  const args = parseArgs(process.argv.slice(2))
  const version = workspaceVersion()
  const manifest = JSON.parse(readFileSync(join(NODE, 'package.json'), 'utf8'))
  if (manifest.version !== version) {
    throw new Error(
      `node/package.json says ${manifest.version}, the workspace ${version}: run node node/scripts/version.mjs --write`,
    )
  }
  const stage = join(ROOT, 'target', 'npm')
  rmSync(stage, { recursive: true, force: true })
  mkdirSync(args.dir, { recursive: true })
  const written = []

  for (const platform of args.platforms) {
    const binary = `authgate.${platform}.node`
    const from = args.artifacts ? join(args.artifacts, binary) : join(NODE, binary)
    if (!existsSync(from)) throw new Error(`${from} is missing: build it first (make node-build)`)
    const dir = join(stage, platform)
    mkdirSync(dir, { recursive: true })
    copyFileSync(from, join(dir, binary))
    copyFileSync(join(ROOT, 'LICENSE'), join(dir, 'LICENSE'))
    // The binary holds Django's common-password list (BSD-3-Clause): its notice goes along.
    copyFileSync(join(ROOT, 'core', 'data', 'LICENSE.django'), join(dir, 'LICENSE.django'))
    writeFileSync(
      join(dir, 'README.md'),
      `# authgate-${platform}\n\nThe native binary of [authgate](https://www.npmjs.com/package/authgate) for ${platform}. ` +
        'Install `authgate`, not this package: npm picks this one for the machine.\n',
    )
    const pkg = {
      name: `authgate-${platform}`,
      version,
      description: `authgate's native binary for ${platform}`,
      license: manifest.license,
      homepage: manifest.homepage,
      repository: manifest.repository,
      bugs: manifest.bugs,
      main: binary,
      files: [binary, 'LICENSE.django'],
      ...PLATFORMS[platform],
      engines: manifest.engines,
    }
    if (pkg.libc) pkg.libc = [pkg.libc]
    pkg.os = [pkg.os]
    pkg.cpu = [pkg.cpu]
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)
    written.push(pack(dir, args.dir))
  }

  const dir = join(stage, 'authgate')
  mkdirSync(dir, { recursive: true })
  const files = manifest.files.filter((f) => !f.endsWith('.node'))
  for (const f of files) copyFileSync(join(NODE, f), join(dir, f))
  copyFileSync(join(ROOT, 'LICENSE'), join(dir, 'LICENSE'))
  copyFileSync(join(ROOT, 'README.md'), join(dir, 'README.md'))
  const pkg = {
    name: manifest.name,
    version,
    description: manifest.description,
    keywords: manifest.keywords,
    license: manifest.license,
    homepage: manifest.homepage,
    repository: manifest.repository,
    bugs: manifest.bugs,
    main: manifest.main,
    types: manifest.types,
    exports: manifest.exports,
    files,
    engines: manifest.engines,
    peerDependencies: manifest.peerDependencies,
    peerDependenciesMeta: manifest.peerDependenciesMeta,
    optionalDependencies: Object.fromEntries(args.platforms.map((p) => [`authgate-${p}`, version])),
  }
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)
  written.push(pack(dir, args.dir))
  for (const f of written) console.log(`dist/${basename(f)}`)
}

main()
