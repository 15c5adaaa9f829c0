// Hostile input through every exported function, constructor and method: Kotlin's types
// rule out wrong types and null, so what is left is empty, huge (10 MB), control-character
// and invalid UTF-16 (a lone surrogate) strings, and empty, huge and non-UTF-8 byte arrays.
// Each call returns or throws AuthgateException — or, for a lone surrogate, the
// CharacterCodingException of UniFFI's string conversion before Rust is reached. Never a
// crash of the JVM, an InternalException (a Rust panic) or a hang.
package dev.authgate.mobile.test

import dev.authgate.mobile.AuthgateException
import dev.authgate.mobile.Hotp
import dev.authgate.mobile.HttpHeader
import dev.authgate.mobile.PasswordPolicy
import dev.authgate.mobile.PasswordRules
import dev.authgate.mobile.RequestSigner
import dev.authgate.mobile.RequestVerifier
import dev.authgate.mobile.SignatureKey
import dev.authgate.mobile.TokenGrant
import dev.authgate.mobile.TokenManager
import dev.authgate.mobile.Totp
import dev.authgate.mobile.apiKeyHeader
import dev.authgate.mobile.bearerHeader
import dev.authgate.mobile.parseOtpauthUri
import dev.authgate.mobile.peekClaims
import java.nio.charset.CharacterCodingException
import kotlin.test.assertEquals
import kotlin.test.assertTrue

private const val HUGE = 10 * 1024 * 1024
private val HOSTILE_STRINGS = listOf("", "x".repeat(HUGE), "\u0000", "\u0000\u0001\u007f", "\uD800", "a\uDC00b", "é".repeat(1000), " ")
private val HOSTILE_BYTES = listOf(ByteArray(0), ByteArray(HUGE) { 0xff.toByte() }, byteArrayOf(0xff.toByte(), 0xfe.toByte(), 0xc0.toByte()))

/** Runs `call`; it may return or throw AuthgateException (or refuse invalid UTF-16). */
private fun survives(label: String, call: () -> Any?): Int {
    val started = System.nanoTime()
    try {
        call()
    } catch (e: AuthgateException) {
        assertTrue(e.message.orEmpty().length < 1000, "$label: an oversized message")
    } catch (e: CharacterCodingException) {
        // UniFFI refuses a lone surrogate before Rust sees it.
    }
    assertTrue((System.nanoTime() - started) / 1_000_000_000 < 10, "$label took too long")
    return 1
}

fun registerFfiHostileTests() {
    val secret = ByteArray(32) { 7 }
    val key = SignatureKey.hmacSha256(secret)
    val header = HttpHeader("content-type", "text/plain")

    test("hostile strings through every function that takes one") {
        var calls = 0
        for (s in HOSTILE_STRINGS) {
            calls += survives("apiKeyHeader") { apiKeyHeader(s) }
            calls += survives("bearerHeader") { bearerHeader(s) }
            calls += survives("peekClaims") { peekClaims(s) }
            calls += survives("parseOtpauthUri") { parseOtpauthUri(s, false) }
            calls += survives("parseOtpauthUri short") { parseOtpauthUri(s, true) }
            calls += survives("Totp.fromBase32") { Totp.fromBase32(s, null, null) }
            calls += survives("Totp.fromUri") { Totp.fromUri(s, true, null) }
            calls += survives("Totp.verify") { Totp(secret, null, null).verify(s, 59uL, null, null) }
            calls += survives("Hotp.fromBase32") { Hotp.fromBase32(s, null) }
            calls += survives("Hotp.verify") { Hotp(secret, null).verify(s, 0uL, null) }
            calls += survives("PasswordPolicy.check") { PasswordPolicy(null).check(s) }
            calls += survives("PasswordPolicy.enforce") { PasswordPolicy(null).enforce(s) }
            calls += survives("PasswordPolicy.nist") { PasswordPolicy.nist(listOf(s, s)) }
            calls += survives("PasswordPolicy(rules)") { PasswordPolicy(PasswordRules(blocklist = listOf(s))) }
            calls += survives("SignatureKey.ed25519Pem") { SignatureKey.ed25519Pem(s) }
            calls += survives("RequestSigner(keyid)") { RequestSigner(s, key, null, null) }
            val signer = RequestSigner("k", key, null, null)
            calls += survives("RequestSigner.sign method") { signer.sign(s, "https://example.com/", listOf(header), null) }
            calls += survives("RequestSigner.sign url") { signer.sign("POST", s, listOf(header), null) }
            calls += survives("RequestSigner.sign header name") { signer.sign("POST", "https://example.com/", listOf(HttpHeader(s, "v")), null) }
            calls += survives("RequestSigner.sign header value") { signer.sign("POST", "https://example.com/", listOf(HttpHeader("x-a", s)), null) }
            val verifier = RequestVerifier(null)
            calls += survives("RequestVerifier.addKey") { verifier.addKey(s, key) }
            calls += survives("RequestVerifier.verify url") { verifier.verify("POST", s, listOf(header), null) }
            calls += survives("RequestVerifier.verify headers") {
                verifier.verify("POST", "https://example.com/", listOf(HttpHeader("signature-input", s), HttpHeader("signature", s)), null)
            }
            val manager = TokenManager(MemoryStorage(), ScriptedFetcher(), null, ManualTime(1_700_000_000))
            calls += survives("TokenManager.signIn access") { manager.signIn(TokenGrant(accessToken = s)) }
            calls += survives("TokenManager.signIn refresh") { manager.signIn(TokenGrant(accessToken = "a.b.c", refreshToken = s)) }
            calls += survives("TokenManager(storage)") { TokenManager(MemoryStorage(s), ScriptedFetcher(), null, ManualTime(1_700_000_000)).restore() }
        }
        assertEquals(26 * HOSTILE_STRINGS.size, calls)
    }

    test("hostile bytes through every function that takes them") {
        var calls = 0
        for (b in HOSTILE_BYTES) {
            calls += survives("SignatureKey.hmacSha256") { SignatureKey.hmacSha256(b) }
            calls += survives("SignatureKey.ed25519Seed") { SignatureKey.ed25519Seed(b) }
            calls += survives("SignatureKey.ed25519Public") { SignatureKey.ed25519Public(b) }
            calls += survives("Totp(secret)") { Totp(b, null, null) }
            calls += survives("Hotp(secret)") { Hotp(b, null) }
            calls += survives("RequestSigner.sign body") { RequestSigner("k", key, null, null).sign("POST", "https://example.com/", listOf(header), b) }
            calls += survives("RequestVerifier.verify body") { RequestVerifier(null).verify("POST", "https://example.com/", listOf(header), b) }
        }
        assertEquals(7 * HOSTILE_BYTES.size, calls)
    }

    test("the library still works after the hostile calls") {
        assertEquals("755224", Hotp.fromBase32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", null).at(0uL))
    }
}
