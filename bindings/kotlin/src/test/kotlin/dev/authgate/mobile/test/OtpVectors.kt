// The one-time-code vectors an authenticator app needs (code generation, verification,
// otpauth:// parsing) through the Kotlin bindings.
package dev.authgate.mobile.test

import com.google.gson.JsonObject
import dev.authgate.mobile.Hotp
import dev.authgate.mobile.OtpAlgorithm
import dev.authgate.mobile.OtpOptions
import dev.authgate.mobile.Totp
import dev.authgate.mobile.parseOtpauthUri
import kotlin.test.assertEquals
import kotlin.test.fail

/** Server-side operations (enrollment, challenges, recovery codes, URI building, base32
 * helpers) that the mobile crate does not ship; Rust, Python and Node run them. */
private val SERVER_SIDE = setOf("uri_build", "base32_encode", "base32_decode", "totp_scenario", "challenge_scenario", "recovery_scenario")

/** An algorithm name the Kotlin enum cannot hold: refused by the type system itself. */
private class Unrepresentable(name: String) : Exception(name)

private fun options(c: JsonObject) = OtpOptions(
    algorithm = c.str("algorithm")?.let { name ->
        OtpAlgorithm.values().firstOrNull { it.name == name.uppercase() } ?: throw Unrepresentable(name)
    },
    digits = c.long("digits")?.toUByte(),
    periodSecs = c.long("period")?.toULong(),
    allowShortSecret = c.get("allow_short_secret")?.asBoolean,
)

private fun totpOf(c: JsonObject): Totp = c.str("secret_hex")?.let { Totp(hex(it), options(c)) }
    ?: Totp.fromBase32(c.str("secret_base32")!!, options(c))

private fun runOtp(c: JsonObject) {
    val want = c.obj("expect")!!
    val wantError = want.str("error")
    try {
        options(c)
    } catch (e: Unrepresentable) {
        assertEquals("invalid_input", wantError, "algorithm ${e.message}")
        return
    }
    val (value, error) = outcome<Any> {
        when (c.str("op")) {
            "hotp" -> Hotp(hex(c.str("secret_hex")!!), options(c)).at(c.long("counter")!!.toULong())
            "totp" -> totpOf(c).let { t ->
                val time = c.long("time")!!.toULong()
                val code = t.at(time)
                listOf(code, t.verify(code, time, 0uL))
            }
            "totp_verify" -> totpOf(c).verify(c.str("code")!!, c.long("time")!!.toULong(), c.long("window")?.toULong(), c.long("last_step")?.toULong())
            "hotp_verify" -> Hotp(hex(c.str("secret_hex")!!), options(c)).verify(c.str("code")!!, c.long("counter")!!.toULong(), c.long("look_ahead")?.toULong())
            "uri_parse" -> parseOtpauthUri(c.str("uri")!!, c.get("allow_short_secret")?.asBoolean ?: false)
            else -> fail("unknown otp op ${c.str("op")}")
        }
    }
    assertEquals(wantError, error, "error")
    if (error != null) return
    when (c.str("op")) {
        "hotp" -> assertEquals(want.str("code"), value)
        "totp" -> {
            val (code, step) = value as List<*>
            assertEquals(want.str("code"), code)
            want.long("step")?.let { assertEquals(it.toULong(), step) }
        }
        "totp_verify" -> assertEquals(want.long("step")!!.toULong(), value)
        "hotp_verify" -> assertEquals(want.long("next_counter")!!.toULong(), value)
        "uri_parse" -> {
            val u = value as dev.authgate.mobile.OtpauthUri
            assertEquals(want.str("kind"), if (u.isHotp) "hotp" else "totp")
            assertEquals(want.str("account"), u.account)
            assertEquals(want.str("issuer"), u.issuer)
            assertEquals(want.str("secret_hex"), u.secret.toHex())
            assertEquals(want.str("algorithm"), u.algorithm.name)
            assertEquals(want.long("digits"), u.digits.toLong())
            want.long("period")?.let { assertEquals(it.toULong(), u.periodSecs) }
            want.long("counter")?.let { assertEquals(it.toULong(), u.counter) }
        }
    }
}

fun registerOtpVectors() {
    for (file in listOf("otp/rfc4226.json", "otp/rfc6238.json", "otp/cases.json")) {
        for (c in vectorFile(file).cases()) {
            if (c.str("op") in SERVER_SIDE) continue
            test("vectors $file: ${c.str("name")}") { runOtp(c) }
        }
    }
}
