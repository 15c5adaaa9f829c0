import { readFileSync, writeFileSync } from 'node:fs'

// The benchmarks' timer: median ns per call of 5 rounds after a warm-up (awaits `fn`).
export async function measure(fn, ms = 1000) {
  for (let i = 0; i < 500; i++) await fn()
  const rounds = []
  for (let r = 0; r < 5; r++) {
    let n = 0
    const start = process.hrtime.bigint()
    const limit = BigInt(ms * 200_000)
    while (process.hrtime.bigint() - start < limit) {
      for (let i = 0; i < 100; i++) await fn()
      n += 100
    }
    rounds.push(Number(process.hrtime.bigint() - start) / n)
  }
  return rounds.sort((a, b) => a - b)[2]
}

/** Nanoseconds as the tables show them. */
export const fmt = (ns) =>
  ns === undefined ? '–' : ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`

const DOC = new URL('../../docs/benchmarks.md', import.meta.url)

/**
 * Puts `lines` (from their BEGIN marker to their END marker) into docs/benchmarks.md in
 * place of that section's last run; a new section goes after the marker `after`.
 */
export function writeSection(lines, after) {
  const [begin, end] = [lines[0], lines[lines.length - 1]]
  let text = readFileSync(DOC, 'utf8')
  if (!text.includes(begin)) {
    text =
      after && text.includes(after)
        ? text.replace(after, `${after}\n\n${begin}\n${end}`)
        : `${text}\n${begin}\n${end}\n`
  }
  text = text.slice(0, text.indexOf(begin)) + lines.join('\n') + text.slice(text.indexOf(end) + end.length)
  writeFileSync(DOC, text)
  console.log(lines.join('\n'))
}
