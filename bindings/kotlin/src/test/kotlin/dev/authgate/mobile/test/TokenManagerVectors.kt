// tests/vectors/token_manager/scenarios.json through the Kotlin bindings: storage, fetcher
// and listener are Kotlin objects the Rust manager calls back.
package dev.authgate.mobile.test

import com.google.gson.JsonNull
import com.google.gson.JsonObject
import com.google.gson.JsonParser
import dev.authgate.mobile.AuthState
import dev.authgate.mobile.FetchException
import dev.authgate.mobile.StorageException
import dev.authgate.mobile.TokenGrant
import dev.authgate.mobile.TokenManager
import kotlin.test.assertEquals
import kotlin.test.fail

fun AuthState.wire(): String = name.lowercase()

fun grantOf(g: JsonObject) = TokenGrant(
    accessToken = g.str("access_token") ?: "",
    refreshToken = g.str("refresh_token"),
    expiresIn = g.long("expires_in")?.toULong(),
    serverTime = g.long("server_time")?.toULong(),
)

private fun runScenario(case: JsonObject) {
    val time = ManualTime(case.long("start")!!)
    val init = case.obj("storage")
    val storage = MemoryStorage(init?.let { it.obj("value")?.toString() ?: it.str("text") })
    val fetcher = ScriptedFetcher()
    val margin = case.obj("config")?.long("refresh_margin")?.toULong()
    val manager = TokenManager(storage, fetcher, margin, time)
    val recorder = Recorder()
    manager.addListener(recorder)

    case.getAsJsonArray("steps").forEachIndexed { i, el ->
        val step = el.asJsonObject
        val want = step.obj("expect") ?: JsonObject()
        val wantError = want.str("error")
        fun check(got: Pair<Any?, String?>, onOk: (Any?) -> Unit = {}) {
            val (value, error) = got
            if (error != wantError) fail("step $i (${step.str("do")}): error $error, want $wantError")
            if (error == null) onOk(value)
        }
        when (step.str("do")) {
            "sign_in" -> check(outcome { manager.signIn(grantOf(step.obj("grant")!!)) })
            "sign_out" -> check(outcome { manager.signOut() })
            "restore" -> check(outcome { manager.restore() }) {
                assertEquals(want.str("state"), (it as AuthState).wire(), "step $i")
            }
            "access_token", "refresh" -> {
                val got = outcome { if (step.str("do") == "refresh") manager.refresh() else manager.accessToken() }
                check(got) { assertEquals(want.str("token"), it, "step $i token") }
                want.long("fetches")?.let { assertEquals(it.toInt(), fetcher.sent.size, "step $i fetches") }
                if (want.has("sent_refresh_token")) {
                    assertEquals(want.str("sent_refresh_token"), fetcher.sent.last(), "step $i sent")
                }
            }
            "respond" -> {
                val with = step.obj("with")!!
                fetcher.answers.addLast(when {
                    with.has("grant") -> { { grantOf(with.obj("grant")!!) } }
                    with.has("invalid_grant") -> { { throw FetchException.InvalidGrant(with.str("invalid_grant")!!) } }
                    else -> { { throw FetchException.Network(with.str("network")!!) } }
                })
            }
            "storage_mode" -> storage.failure = when (step.str("mode")) {
                "ok" -> null
                "keys_lost" -> StorageException.KeysLost()
                else -> StorageException.Failed("scripted failure")
            }
            "advance" -> time.advance(step.long("seconds")!!)
            "set_device_time" -> time.set(step.long("time")!!)
            "report_server_time" -> manager.reportServerTime(step.long("time")!!.toULong())
            "state" -> assertEquals(want.str("state"), manager.state().wire(), "step $i")
            "stored" -> {
                val stored = storage.value?.let { JsonParser.parseString(it).asJsonObject }
                assertEquals(want.get("present").asBoolean, stored != null, "step $i present")
                for (key in listOf("access_token", "refresh_token")) {
                    if (want.has(key)) {
                        assertEquals(want.get(key), stored?.get(key) ?: JsonNull.INSTANCE, "step $i $key")
                    }
                }
            }
            "events" -> {
                val seen = synchronized(recorder.states) { recorder.states.map { it.wire() }.also { recorder.states.clear() } }
                assertEquals(want.getAsJsonArray("events").map { it.asString }, seen, "step $i events")
            }
            else -> fail("unknown step ${step.str("do")}")
        }
    }
}

fun registerTokenManagerVectors() {
    val doc = vectorFile("token_manager/scenarios.json")
    for (case in doc.cases()) {
        assertEquals("scenario", case.str("op"))
        test("vectors token_manager: ${case.str("name")}") { runScenario(case) }
    }
}
