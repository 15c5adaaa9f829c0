// The shared conformance vectors, read from tests/vectors/ (the path comes from the
// `authgate.vectors` system property that `make kotlin-test` sets).
package dev.authgate.mobile.test

import com.google.gson.JsonElement
import com.google.gson.JsonObject
import com.google.gson.JsonParser
import java.io.File

val vectorsDir = File(System.getProperty("authgate.vectors") ?: "tests/vectors")

fun vectorFile(relative: String): JsonObject =
    JsonParser.parseString(File(vectorsDir, relative).readText()).asJsonObject

fun JsonObject.cases(): List<JsonObject> = getAsJsonArray("cases").map { it.asJsonObject }
fun JsonObject.str(key: String): String? = get(key)?.takeUnless { it.isJsonNull }?.asString
fun JsonObject.long(key: String): Long? = get(key)?.takeUnless { it.isJsonNull }?.asLong
fun JsonObject.obj(key: String): JsonObject? = get(key)?.takeUnless { it.isJsonNull }?.asJsonObject
fun JsonElement?.orNull(): JsonElement? = this?.takeUnless { it.isJsonNull }

fun hex(text: String): ByteArray = ByteArray(text.length / 2) { text.substring(2 * it, 2 * it + 2).toInt(16).toByte() }
fun ByteArray.toHex(): String = joinToString("") { "%02x".format(it) }
