// RFC 9421 from Kotlin: the RFC's own signatures reproduced byte for byte, and the
// conformance vectors' requests signed in Kotlin and accepted by the Rust verifier.
package dev.authgate.mobile.test

import com.google.gson.JsonObject
import dev.authgate.mobile.AuthgateException
import dev.authgate.mobile.ErrorCode
import dev.authgate.mobile.HttpHeader
import dev.authgate.mobile.RequestSigner
import dev.authgate.mobile.RequestVerifier
import dev.authgate.mobile.SignatureKey
import dev.authgate.mobile.SignerOptions
import java.util.Base64
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

private val SIGNATURE_HEADERS = setOf("signature", "signature-input", "content-digest")

private fun keyOf(spec: JsonObject): SignatureKey = when (spec.str("alg")) {
    "hmac-sha256" -> SignatureKey.hmacSha256(Base64.getDecoder().decode(spec.str("secret_b64")))
    "ed25519" -> SignatureKey.ed25519Pem(spec.str("pem")!!)
    else -> error("unknown alg ${spec.str("alg")}")
}

private class Message(val method: String, val url: String, val headers: List<HttpHeader>, val body: ByteArray?)

private fun messageOf(request: JsonObject) = Message(
    request.str("method")!!,
    request.str("url")!!,
    request.getAsJsonArray("headers").map { val p = it.asJsonArray; HttpHeader(p[0].asString, p[1].asString) },
    request.str("body")?.toByteArray(),
)

fun registerSignatureVectors() {
    val rfc = vectorFile("signature/rfc9421.json")
    for (case in rfc.cases().filter { it.str("op") == "sign" }) {
        test("vectors signature: ${case.str("name")} (reproduced by the Kotlin signer)") {
            val params = case.obj("params")!!
            assertEquals(setOf("created", "keyid"), params.keySet(), "only created and keyid can be reproduced")
            val msg = messageOf(case.obj("request")!!)
            val options = SignerOptions(
                label = case.str("label"),
                components = case.getAsJsonArray("components").map { it.asString },
                contentDigest = false, nonce = false, includeAlg = false,
            )
            val signer = RequestSigner(params.str("keyid")!!, keyOf(case.obj("key")!!), options, ManualTime(params.long("created")!!))
            val signed = signer.sign(msg.method, msg.url, msg.headers, msg.body)
            val want = case.obj("expect")!!
            assertEquals(want.str("signature_input"), signed.signatureInput)
            assertEquals(want.str("signature"), signed.signature)
        }
    }

    // The RFC's Ed25519 private key, whose public half the conformance cases use as "client-ed".
    val rfcPrivate = keyOf(rfc.cases().first { it.str("op") == "sign" && it.obj("key")!!.str("alg") == "ed25519" }.obj("key")!!)
    val accepted = vectorFile("signature/cases.json").cases().filter {
        it.str("op") == "verify" && !it.obj("expect")!!.has("error") && !it.has("policy") && !it.has("select")
    }
    assertTrue(accepted.size >= 5)
    for (case in accepted) {
        test("vectors signature: ${case.str("name")} (signed in Kotlin, verified by the Rust verifier)") {
            val keyid = case.obj("expect")!!.str("keyid")!!
            val spec = case.obj("keys")!!.obj(keyid)!!
            val publicKey = keyOf(spec)
            val signingKey = if (publicKey.canSign()) publicKey else rfcPrivate.also {
                assertContentEquals(publicKey.publicKey(), it.publicKey())
            }
            val now = ManualTime(case.long("now")!!)
            val msg = messageOf(case.obj("request")!!)
            val plain = msg.headers.filter { it.name.lowercase() !in SIGNATURE_HEADERS }
            val signed = RequestSigner(keyid, signingKey, null, now).sign(msg.method, msg.url, plain, msg.body)
            assertEquals(msg.body != null && msg.body.isNotEmpty(), signed.contentDigest != null)

            val verifier = RequestVerifier(now)
            verifier.addKey(keyid, publicKey)
            val verified = verifier.verify(msg.method, msg.url, plain + signed.headers, msg.body)
            assertEquals(keyid, verified.keyid)
            assertEquals(case.long("now")!!.toULong(), verified.created)

            // The same request again is a replay; a changed body no longer matches.
            val replay = assertFailsWith<AuthgateException.Signature> { verifier.verify(msg.method, msg.url, plain + signed.headers, msg.body) }
            assertEquals(ErrorCode.REPLAY_DETECTED, replay.code)
            if (msg.body != null && msg.body.isNotEmpty()) {
                val again = RequestSigner(keyid, signingKey, null, now).sign(msg.method, msg.url, plain, msg.body)
                val tampered = assertFailsWith<AuthgateException.Signature> {
                    verifier.verify(msg.method, msg.url, plain + again.headers, msg.body + "x".toByteArray())
                }
                assertEquals(ErrorCode.DIGEST_MISMATCH, tampered.code)
            }
        }
    }
}
