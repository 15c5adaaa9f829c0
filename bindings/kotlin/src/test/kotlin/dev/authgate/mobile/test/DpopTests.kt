// DPoP proofs made on the device, checked with the JVM's own crypto (java.security) and a
// thumbprint computed here, independent of the Rust core.
package dev.authgate.mobile.test

import com.google.gson.JsonObject
import com.google.gson.JsonParser
import dev.authgate.mobile.AuthgateException
import dev.authgate.mobile.DpopAlgorithm
import dev.authgate.mobile.DpopKey
import dev.authgate.mobile.ErrorCode
import dev.authgate.mobile.TimeSource
import dev.authgate.mobile.jwkThumbprint
import java.math.BigInteger
import java.security.AlgorithmParameters
import java.security.KeyFactory
import java.security.MessageDigest
import java.security.Signature
import java.security.spec.ECGenParameterSpec
import java.security.spec.ECParameterSpec
import java.security.spec.ECPoint
import java.security.spec.ECPublicKeySpec
import java.security.spec.X509EncodedKeySpec
import java.util.Base64
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotEquals
import kotlin.test.assertTrue

private val b64d = Base64.getUrlDecoder()
private fun b64(bytes: ByteArray) = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes)
private fun sha256(text: String) = MessageDigest.getInstance("SHA-256").digest(text.toByteArray())

private class At(val now: ULong) : TimeSource {
    override fun nowUnix(): ULong = now
}

private fun part(token: String, i: Int): JsonObject =
    JsonParser.parseString(String(b64d.decode(token.split(".")[i]))).asJsonObject

/** Verifies the proof's signature with java.security, from the JWK in its header. */
private fun verifiesWithJava(proof: String): Boolean {
    val (h, p, s) = proof.split(".")
    val jwk = part(proof, 0).getAsJsonObject("jwk")
    val input = "$h.$p".toByteArray()
    return when (jwk.get("kty").asString) {
        "EC" -> {
            val curve = if (jwk.get("crv").asString == "P-256") "secp256r1" else "secp384r1"
            val params = AlgorithmParameters.getInstance("EC").apply { init(ECGenParameterSpec(curve)) }
            val point = ECPoint(BigInteger(1, b64d.decode(jwk.get("x").asString)), BigInteger(1, b64d.decode(jwk.get("y").asString)))
            val key = KeyFactory.getInstance("EC").generatePublic(ECPublicKeySpec(point, params.getParameterSpec(ECParameterSpec::class.java)))
            val hash = if (curve == "secp256r1") "SHA256" else "SHA384"
            Signature.getInstance("${hash}withECDSAinP1363Format").run { initVerify(key); update(input); verify(b64d.decode(s)) }
        }
        "OKP" -> {
            // SubjectPublicKeyInfo of an Ed25519 key: a fixed 12-byte prefix, then the 32 bytes.
            val spki = byteArrayOf(0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00) + b64d.decode(jwk.get("x").asString)
            val key = KeyFactory.getInstance("Ed25519").generatePublic(X509EncodedKeySpec(spki))
            Signature.getInstance("Ed25519").run { initVerify(key); update(input); verify(b64d.decode(s)) }
        }
        else -> false
    }
}

/** RFC 7638, written out here. */
private fun thumbprint(jwk: JsonObject): String {
    val members = if (jwk.get("kty").asString == "EC") listOf("crv", "kty", "x", "y") else listOf("crv", "kty", "x")
    return b64(sha256(members.joinToString(",", "{", "}") { "\"$it\":\"${jwk.get(it).asString}\"" }))
}

fun registerDpopTests() {
    test("DPoP: proofs carry the request and verify with java.security") {
        for (alg in listOf(DpopAlgorithm.ES256, DpopAlgorithm.ES384, DpopAlgorithm.ED_DSA)) {
            val key = DpopKey.generate(alg, At(1_700_000_000u))
            val proof = key.proof("post", "https://API.example.com:443/token?x=1#f", "access-token", "n-1")
            val header = part(proof, 0)
            val claims = part(proof, 1)
            assertEquals("dpop+jwt", header.get("typ").asString)
            assertTrue(header.getAsJsonObject("jwk").keySet().all { it in setOf("kty", "crv", "x", "y") }, "$header")
            assertEquals("post", claims.get("htm").asString)
            assertEquals("https://api.example.com/token", claims.get("htu").asString)
            assertEquals(1_700_000_000L, claims.get("iat").asLong)
            assertEquals(b64(sha256("access-token")), claims.get("ath").asString)
            assertEquals("n-1", claims.get("nonce").asString)
            assertEquals(22, claims.get("jti").asString.length)
            assertTrue(verifiesWithJava(proof), "$alg proof does not verify")
            assertEquals(thumbprint(header.getAsJsonObject("jwk")), key.thumbprint())
            val other = key.proof("GET", "https://api.example.com/token")
            assertNotEquals(claims.get("jti").asString, part(other, 1).get("jti").asString)
            assertTrue(!part(other, 1).has("ath") && !part(other, 1).has("nonce"))
        }
    }
    test("DPoP: a key survives storage as PEM; bad keys and URIs are typed errors") {
        val key = DpopKey.generate(DpopAlgorithm.ES256)
        val again = DpopKey.fromPem(key.privateKeyPem(), DpopAlgorithm.ES256)
        assertEquals(key.thumbprint(), again.thumbprint())
        assertTrue(verifiesWithJava(again.proof("GET", "https://api.example.com/x")))
        val pub = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n"
        val e = assertFailsWith<AuthgateException.KeyMaterial> { DpopKey.fromPem(pub, DpopAlgorithm.ED_DSA) }
        assertEquals(ErrorCode.INVALID_KEY, e.code)
        assertFailsWith<AuthgateException.KeyMaterial> { DpopKey.fromPem("not a key", DpopAlgorithm.ES256) }
        // SEC1 `EC PRIVATE KEY` (openssl ecparam -genkey), after its EC PARAMETERS block: the
        // RFC 7515 A.3 key, whose RFC 7638 thumbprint node:crypto computed (#20 item 18).
        val sec1 = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" +
            "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEII6bEJ5xkJi/mASH3x9dd+nLKWBuvtImO19XwhPfhPSyoAoGCCqGSM49\n" +
            "AwEHoUQDQgAEf83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEXH8UTNG72b\nfocs3+257rn0s2ldbqkLJK2KRiMohYjlrQ==\n" +
            "-----END EC PRIVATE KEY-----\n"
        val fromSec1 = DpopKey.fromPem(sec1, DpopAlgorithm.ES256)
        assertEquals("oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U", fromSec1.thumbprint())
        assertTrue(verifiesWithJava(fromSec1.proof("GET", "https://api.example.com/x")))
        val rel = assertFailsWith<AuthgateException.Other> { key.proof("GET", "/relative") }
        assertEquals(ErrorCode.INVALID_INPUT, rel.code)
        assertFailsWith<AuthgateException.Other> { key.proof("G ET", "https://api.example.com/x") }
    }
}

fun registerPopVectors() {
    val cases = vectorFile("pop/cases.json").cases().filter { it.str("op") == "jwk_thumbprint" }
    test("vectors: pop/cases.json jwk_thumbprint (${cases.size} cases)") {
        assertTrue(cases.size >= 5)
        for (c in cases) {
            val expect = c.obj("expect")!!
            val jwk = c.obj("jwk")!!.toString()
            when (val code = expect.str("error")) {
                null -> assertEquals(expect.str("jkt"), jwkThumbprint(jwk), c.str("name"))
                else -> {
                    val e = assertFailsWith<AuthgateException.KeyMaterial>(c.str("name")) { jwkThumbprint(jwk) }
                    assertEquals(code, e.code.name.lowercase(), c.str("name"))
                }
            }
        }
    }
}
