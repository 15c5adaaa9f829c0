// The local HTTPS test server (tests/https-server, built by `make test`) that remote-JWKS
// tests fetch from: a private CA, paths answering what a test sets, request counts.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const BINARY =
  process.env.AUTHGATE_TEST_HTTPS || fileURLToPath(new URL('../../target/debug/authgate-test-https', import.meta.url))

export class HttpsServer {
  static async start() {
    if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: \`make test-https\` builds it`)
    const server = new HttpsServer()
    server.proc = spawn(BINARY, [], { stdio: ['pipe', 'pipe', 'inherit'] })
    server.lines = createInterface({ input: server.proc.stdout })[Symbol.asyncIterator]()
    const hello = JSON.parse((await server.lines.next()).value)
    server.port = hello.port
    /** The PEM of the CA that signed the server's certificate. */
    server.ca = hello.ca
    server.base = `https://127.0.0.1:${hello.port}`
    return server
  }

  async ask(line) {
    this.proc.stdin.write(`${line}\n`)
    const answer = (await this.lines.next()).value
    if (answer === undefined || answer.startsWith('error')) throw new Error(`test server: ${answer}`)
    return answer
  }

  url(path) {
    return this.base + path
  }

  /** `path` answers `status` with `body` after `delayMs` (status 0: the connection drops). */
  async set(path, body, status = 200, delayMs = 0) {
    if (body.includes('\n')) throw new Error('one line only')
    await this.ask(`set ${path} ${status} ${delayMs} ${body}`)
  }

  async hits(path) {
    return Number(await this.ask(`hits ${path}`))
  }

  async close() {
    const exited = new Promise((resolve) => this.proc.once('exit', resolve))
    this.proc.stdin.end()
    await exited
  }
}
