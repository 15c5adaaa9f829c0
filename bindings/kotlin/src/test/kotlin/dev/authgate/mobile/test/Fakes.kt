// What an app implements: storage (the Keychain/Keystore in a real app), a fetcher (its
// HTTP call), a listener, and a time source the tests move by hand.
package dev.authgate.mobile.test

import dev.authgate.mobile.AuthState
import dev.authgate.mobile.AuthStateListener
import dev.authgate.mobile.FetchException
import dev.authgate.mobile.StorageException
import dev.authgate.mobile.TimeSource
import dev.authgate.mobile.TokenFetcher
import dev.authgate.mobile.TokenGrant
import dev.authgate.mobile.TokenStorage
import java.util.ArrayDeque
import java.util.concurrent.atomic.AtomicLong

class ManualTime(start: Long) : TimeSource {
    private val now = AtomicLong(start)
    override fun nowUnix(): ULong = now.get().toULong()
    fun advance(seconds: Long) { now.addAndGet(seconds) }
    fun set(time: Long) { now.set(time) }
}

/** Storage in memory; `failure` makes every operation throw. */
class MemoryStorage(initial: String? = null) : TokenStorage {
    @Volatile var value: String? = initial
    @Volatile var failure: StorageException? = null

    private fun check() { failure?.let { throw it } }
    override fun read(): String? { check(); return value }
    override fun write(value: String) { check(); this.value = value }
    override fun delete() { check(); value = null }
}

/** Answers from a queue and records the refresh tokens it was sent. */
class ScriptedFetcher : TokenFetcher {
    val answers = ArrayDeque<() -> TokenGrant>()
    val sent = mutableListOf<String?>()

    @Synchronized
    override fun fetch(refreshToken: String?): TokenGrant {
        sent += refreshToken
        val next = answers.pollFirst() ?: throw FetchException.Network("no answer scripted")
        return next()
    }
}

class Recorder : AuthStateListener {
    val states = java.util.Collections.synchronizedList(mutableListOf<AuthState>())
    override fun onStateChange(state: AuthState) { states += state }
}
