// tests/vectors/password/cases.json: the policy, as a sign-up form on the device checks it.
package dev.authgate.mobile.test

import com.google.gson.JsonObject
import dev.authgate.mobile.PasswordPolicy
import dev.authgate.mobile.PasswordRules
import kotlin.test.assertEquals
import kotlin.test.fail

/** Hashing is the server's (Rust, Python and Node run these); the device only checks rules. */
private val SERVER_SIDE = setOf("verify", "needs_rehash")

private fun policyOf(c: JsonObject): PasswordPolicy {
    val blocklist = c.getAsJsonArray("blocklist")?.map { it.asString } ?: emptyList()
    val spec = c.get("policy")
    return when {
        spec.isJsonPrimitive && spec.asString == "nist" -> PasswordPolicy.nist(blocklist)
        spec.isJsonObject -> spec.asJsonObject.let { p ->
            PasswordPolicy(PasswordRules(
                minLength = p.long("min_length")?.toUInt(), maxLength = p.long("max_length")?.toUInt(),
                requireUppercase = p.get("require_uppercase")?.asBoolean, requireLowercase = p.get("require_lowercase")?.asBoolean,
                requireDigit = p.get("require_digit")?.asBoolean, requireSymbol = p.get("require_symbol")?.asBoolean,
                commonPasswords = p.get("common_passwords")?.asBoolean, blocklist = blocklist,
            ))
        }
        else -> PasswordPolicy(PasswordRules(blocklist = blocklist))
    }
}

fun registerPasswordVectors() {
    for (c in vectorFile("password/cases.json").cases()) {
        if (c.str("op") in SERVER_SIDE) continue
        test("vectors password: ${c.str("name")}") {
            val want = c.obj("expect")!!
            val context = c.getAsJsonArray("context")?.map { it.asString } ?: emptyList()
            when (c.str("op")) {
                "policy_check" -> if (want.has("error")) {
                    assertEquals(want.str("error"), outcome { policyOf(c).check(c.str("password")!!, context) }.second)
                } else {
                    assertEquals(
                        want.getAsJsonArray("violations").map { it.asString },
                        policyOf(c).check(c.str("password")!!, context).map { it.code },
                    )
                }
                "enforce" -> assertEquals(want.str("error"), outcome { policyOf(c).enforce(c.str("password")!!, context) }.second)
                else -> fail("unknown password op ${c.str("op")}")
            }
        }
    }
}
