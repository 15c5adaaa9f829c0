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
export const fmt = (ns) => (ns === undefined ? '–' : ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`)
