// A small test runner: each suite registers named cases; main runs them all and ends with
// the line CI reads ("kotlin: N passed, N failed"). Assertions come from kotlin.test.
package dev.authgate.mobile.test

import kotlin.system.exitProcess

object Registry {
    val cases = mutableListOf<Pair<String, () -> Unit>>()
}

fun test(name: String, body: () -> Unit) {
    Registry.cases += name to body
}

fun main() {
    registerErrorTests()
    registerTokenManagerVectors()
    registerTokenManagerTests()
    registerSignatureVectors()
    registerOtpVectors()
    registerSurfaceTests()
    registerPasswordVectors()
    registerFfiHostileTests()
    registerDpopTests()
    registerPopVectors()
    test("docs/mobile.md: the Kotlin quick start runs as written") { readmeTour() }
    var failed = 0
    for ((name, body) in Registry.cases) {
        try {
            body()
            println("ok   $name")
        } catch (e: Throwable) {
            failed++
            println("FAIL $name\n     $e")
        }
    }
    println("kotlin: ${Registry.cases.size - failed} passed, $failed failed")
    exitProcess(if (failed == 0 && Registry.cases.isNotEmpty()) 0 else 1)
}
