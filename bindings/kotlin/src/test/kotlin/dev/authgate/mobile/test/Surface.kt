// The rest of the exported surface — everything the Swift bindings call is exercised here
// or in the other Kotlin tests, since no Swift toolchain runs in CI.
package dev.authgate.mobile.test

import dev.authgate.mobile.AuthgateException
import dev.authgate.mobile.ErrorCode
import dev.authgate.mobile.Hotp
import dev.authgate.mobile.HttpHeader
import dev.authgate.mobile.RequestSigner
import dev.authgate.mobile.RequestVerifier
import dev.authgate.mobile.SignatureAlgorithm
import dev.authgate.mobile.SignatureKey
import dev.authgate.mobile.SignerOptions
import dev.authgate.mobile.TokenGrant
import dev.authgate.mobile.TokenManager
import dev.authgate.mobile.Totp
import dev.authgate.mobile.apiKeyHeader
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue

fun registerSurfaceTests() {
    test("surface: apiKeyHeader with the apikey vectors' keys") {
        val cases = vectorFile("apikey/generated.json").cases().filter { it.str("op") == "parse" }
        assertTrue(cases.size > 5)
        for (c in cases) {
            val key = c.str("key")!!
            val (header, error) = outcome { apiKeyHeader(key) }
            assertEquals(c.obj("expect")!!.str("error"), error, c.str("name"))
            if (error == null) assertEquals(HttpHeader("x-api-key", key), header)
        }
    }

    test("surface: Totp.now, remainingSecs and fromUri follow the time source") {
        // RFC 6238's SHA1 secret at 59 s: 94287082 with 8 digits; 1 s left in the step.
        val uri = "otpauth://totp/ACME:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME&digits=8"
        val totp = Totp.fromUri(uri, false, ManualTime(59))
        assertEquals("94287082", totp.now())
        assertEquals(1uL, totp.remainingSecs())
        val same = Totp.fromBase32("gezd gnbv gy3t qojq gezd gnbv gy3t qojq", dev.authgate.mobile.OtpOptions(digits = 8u), ManualTime(59))
        assertEquals(totp.now(), same.now())
        val e = assertFailsWith<AuthgateException.Other> { Totp.fromUri("otpauth://hotp/ACME:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=1", false, null) }
        assertEquals(ErrorCode.INVALID_INPUT, e.code)
    }

    test("surface: Hotp.fromBase32 equals the RFC 4226 codes") {
        val hotp = Hotp.fromBase32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", null)
        assertEquals("755224", hotp.at(0uL))
        assertEquals(2uL, hotp.verify("287082", 0uL, null))
    }

    test("surface: Ed25519 keys from a seed and a raw public key sign and verify") {
        val seed = ByteArray(32) { it.toByte() }
        val private = SignatureKey.ed25519Seed(seed)
        assertEquals(SignatureAlgorithm.ED25519, private.algorithm())
        assertTrue(private.canSign())
        val public = SignatureKey.ed25519Public(private.publicKey()!!)
        assertFalse(public.canSign())
        assertContentEquals(private.publicKey(), public.publicKey())
        assertNull(SignatureKey.hmacSha256(ByteArray(32)).publicKey())
        assertFailsWith<AuthgateException.KeyMaterial> { SignatureKey.ed25519Seed(ByteArray(5)) }
        assertFailsWith<AuthgateException.KeyMaterial> { SignatureKey.hmacSha256(ByteArray(8)) }

        val time = ManualTime(1_700_000_000)
        val signer = RequestSigner("phone-1", private, SignerOptions(expiresInSecs = 60uL, tag = "app"), time)
        val headers = listOf(HttpHeader("Host", "api.example.com"))
        val signed = signer.sign("GET", "https://api.example.com/v1/me?x=1", headers, null)
        assertTrue(signed.signatureInput.contains(";expires=1700000060"), signed.signatureInput)
        assertTrue(signed.signatureInput.contains(";tag=\"app\""), signed.signatureInput)
        assertNull(signed.contentDigest)
        val verifier = RequestVerifier(time)
        verifier.addKey("phone-1", public)
        assertEquals(listOf("@method", "@authority", "@path", "@query"), verifier.verify("GET", "https://api.example.com/v1/me?x=1", headers + signed.headers, null).components)

        // A public key cannot sign; an unknown keyid is refused.
        assertFailsWith<AuthgateException.KeyMaterial> { RequestSigner("p", public, null, null) }
        val other = RequestVerifier(time)
        val e = assertFailsWith<AuthgateException.Signature> { other.verify("GET", "https://api.example.com/v1/me?x=1", headers + signed.headers, null) }
        assertEquals(ErrorCode.UNKNOWN_KEY, e.code)
    }

    test("surface: serverNow follows the reported server time; refresh forces a fetch") {
        val time = ManualTime(1_700_003_600)
        val fetcher = ScriptedFetcher()
        val manager = TokenManager(MemoryStorage(), fetcher, 30uL, time)
        assertNull(manager.accessExpiresAt())
        manager.signIn(TokenGrant("A1", "R1", 900uL, 1_700_000_000uL))
        assertEquals(1_700_000_000uL, manager.serverNow())
        manager.reportServerTime(1_700_000_100uL)
        assertEquals(1_700_000_100uL, manager.serverNow())
        fetcher.answers.addLast { TokenGrant("A2", null, 900uL) }
        assertEquals("A2", manager.refresh())
        assertEquals(listOf<String?>("R1"), fetcher.sent)
    }
}
