import { readFileSync, writeFileSync } from 'node:fs'

const ROUNDS = 7

/**
 * Runs `fn` about `ms` milliseconds: a synchronous `fn` in a plain loop, one returning a
 * Promise awaited call by call (as its users must). Returns ns per call.
 */
async function batch(fn, ms, isAsync) {
  let n = 0
  const start = process.hrtime.bigint()
  const limit = BigInt(Math.round(ms * 1e6))
  if (isAsync) {
    while (process.hrtime.bigint() - start < limit) {
      for (let i = 0; i < 100; i++) await fn()
      n += 100
    }
  } else {
    while (process.hrtime.bigint() - start < limit) {
      for (let i = 0; i < 100; i++) fn()
      n += 100
    }
  }
  return Number(process.hrtime.bigint() - start) / n
}

async function warm(fn) {
  const isAsync = typeof fn()?.then === 'function'
  for (let i = 0; i < 500; i++) {
    const r = fn()
    if (isAsync) await r
  }
  return isAsync
}

/**
 * Several operations timed side by side: `ROUNDS` rounds, in each of which every operation
 * runs one batch (the order rotating from round to round, so none always runs first or
 * last). Returns, per operation, `{ median, lo, hi }` in ns per call over the rounds.
 */
export async function compare(fns, ms = 1000) {
  const kinds = []
  for (const fn of fns) kinds.push(await warm(fn))
  const samples = fns.map(() => [])
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < fns.length; k++) {
      const i = (k + r) % fns.length
      samples[i].push(await batch(fns[i], ms / ROUNDS, kinds[i]))
    }
  }
  return samples.map((s) => {
    s.sort((a, b) => a - b)
    return { median: s[Math.floor(s.length / 2)], lo: s[0], hi: s[s.length - 1] }
  })
}

/** The median ns per call of one operation (see `compare`). */
export async function measure(fn, ms = 1000) {
  return (await compare([fn], ms))[0].median
}

/** `a ÷ b` as the tables show ratios, with the spread over the rounds: `3.1x [2.8–3.3]`. */
export const ratio = (ours, theirs) =>
  `${(theirs.median / ours.median).toFixed(1)}x [${(theirs.lo / ours.hi).toFixed(1)}–${(theirs.hi / ours.lo).toFixed(1)}]`

/** Nanoseconds as the tables show them. */
export const fmt = (ns) =>
  ns === undefined ? '–' : ns >= 999.5 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`

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
