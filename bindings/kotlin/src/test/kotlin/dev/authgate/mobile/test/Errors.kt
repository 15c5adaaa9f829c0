// The core's error codes as Kotlin sees them, and the header/claims helpers.
package dev.authgate.mobile.test

import dev.authgate.mobile.AuthgateException
import dev.authgate.mobile.ErrorCode
import dev.authgate.mobile.apiKeyHeader
import dev.authgate.mobile.bearerHeader
import dev.authgate.mobile.peekClaims
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNull
import kotlin.test.assertTrue

/** The stable code every runtime shares (`token_expired`). */
val AuthgateException.codeName: String
    get() = when (this) {
        is AuthgateException.Token -> code
        is AuthgateException.KeyMaterial -> code
        is AuthgateException.Session -> code
        is AuthgateException.ApiKey -> code
        is AuthgateException.Signature -> code
        is AuthgateException.Otp -> code
        is AuthgateException.Client -> code
        is AuthgateException.Other -> code
    }.name.lowercase()

/** Runs `block`, returning null on success or the code it failed with. */
fun <T> outcome(block: () -> T): Pair<T?, String?> =
    try { block() to null } catch (e: AuthgateException) { null to e.codeName }

fun registerErrorTests() {
    test("errors: a malformed token is AuthgateException.Token with its code") {
        val e = assertFailsWith<AuthgateException.Token> { peekClaims("not-a-jwt") }
        assertEquals(ErrorCode.MALFORMED_TOKEN, e.code)
        assertTrue(e.detail.isNotEmpty())
    }
    test("errors: every core code is a Kotlin ErrorCode") {
        // The union of codes the vectors expect must all exist in the Kotlin enum.
        val names = ErrorCode.values().map { it.name.lowercase() }.toSet()
        for (code in listOf("signed_out", "reauthentication_required", "fetch_failed", "storage_failed",
                            "token_expired", "invalid_code", "signature_mismatch", "internal")) {
            assertTrue(code in names, code)
        }
    }
    test("helpers: peekClaims reads registered claims without verifying") {
        // Payload {"sub":"user-1","iat":1700000000,"exp":1700000900}.
        val c = peekClaims("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTEiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMDkwMH0.c2lnbmF0dXJl")
        assertEquals("user-1", c.subject)
        assertEquals(1700000900uL, c.expiresAt)
        assertEquals(1700000000uL, c.issuedAt)
        assertNull(c.issuer)
    }
    test("helpers: bearerHeader refuses header injection") {
        assertEquals("Bearer abc.def", bearerHeader("abc.def").value)
        val e = assertFailsWith<AuthgateException.Token> { bearerHeader("abc\r\nX-Evil: 1") }
        assertEquals(ErrorCode.MALFORMED_TOKEN, e.code)
    }
    test("helpers: apiKeyHeader checks the key's checksum") {
        val e = assertFailsWith<AuthgateException.ApiKey> { apiKeyHeader("ag_live_0000000000000000000000000000000000000000000000000000000000") }
        assertEquals(ErrorCode.INVALID_API_KEY, e.code)
    }
}
