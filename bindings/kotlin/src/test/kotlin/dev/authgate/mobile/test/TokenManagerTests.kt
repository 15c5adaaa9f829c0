// The token manager from Kotlin under concurrency and failure, with the app's objects
// written the way an app writes them.
package dev.authgate.mobile.test

import dev.authgate.mobile.AuthState
import dev.authgate.mobile.AuthgateException
import dev.authgate.mobile.ErrorCode
import dev.authgate.mobile.FetchException
import dev.authgate.mobile.StorageException
import dev.authgate.mobile.TokenFetcher
import dev.authgate.mobile.TokenGrant
import dev.authgate.mobile.TokenManager
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNull
import kotlin.test.assertTrue

private const val START = 1_700_000_000L
private const val THREADS = 16

/** A fetcher that takes a while, so callers pile up behind one refresh. */
private class SlowFetcher(val answer: (Int, String?) -> TokenGrant) : TokenFetcher {
    val calls = AtomicInteger()
    override fun fetch(refreshToken: String?): TokenGrant {
        val n = calls.incrementAndGet()
        Thread.sleep(50)
        return answer(n, refreshToken)
    }
}

private fun signedIn(fetcher: TokenFetcher, storage: MemoryStorage = MemoryStorage(), time: ManualTime = ManualTime(START)): TokenManager {
    val manager = TokenManager(storage, fetcher, null, time)
    manager.signIn(TokenGrant("A1", "R1", 900uL, START.toULong()))
    return manager
}

/** Calls accessToken() from THREADS threads released at once. */
private fun race(manager: TokenManager): List<Result<String>> {
    val pool = Executors.newFixedThreadPool(THREADS)
    val go = CountDownLatch(1)
    val futures = (1..THREADS).map { pool.submit<Result<String>> { go.await(); runCatching { manager.accessToken() } } }
    go.countDown()
    val results = futures.map { it.get(30, TimeUnit.SECONDS) }
    pool.shutdown()
    return results
}

fun registerTokenManagerTests() {
    test("token manager: tokens are restored from storage at start") {
        val first = MemoryStorage()
        signedIn(SlowFetcher { _, _ -> error("no refresh expected") }, first)
        // A new manager (the app restarted) over the same storage.
        val restored = TokenManager(first, SlowFetcher { _, _ -> error("no refresh expected") }, null, ManualTime(START + 10))
        assertEquals(AuthState.SIGNED_IN, restored.restore())
        assertEquals("A1", restored.accessToken())
        assertEquals(START.toULong() + 900uL, restored.accessExpiresAt())
    }

    test("token manager: 16 threads asking for an expired token cause one refresh and all get it") {
        val time = ManualTime(START)
        val fetcher = SlowFetcher { n, sent ->
            assertEquals("R$n", sent)
            TokenGrant("A${n + 1}", "R${n + 1}", 900uL)
        }
        val storage = MemoryStorage()
        val manager = signedIn(fetcher, storage, time)
        for (round in 1..3) {
            time.advance(900)
            val results = race(manager)
            assertEquals(round, fetcher.calls.get(), "refreshes after round $round")
            assertTrue(results.all { it.getOrNull() == "A${round + 1}" }, results.toString())
            assertTrue(storage.value!!.contains("\"R${round + 1}\""))
        }
    }

    test("token manager: a refused refresh token clears storage and reports signed out to every caller") {
        val storage = MemoryStorage()
        val time = ManualTime(START)
        val fetcher = SlowFetcher { _, _ -> throw FetchException.InvalidGrant("refresh_token_reused") }
        val manager = signedIn(fetcher, storage, time)
        time.advance(900)
        for (r in race(manager)) {
            val e = r.exceptionOrNull() as AuthgateException.Client
            assertEquals(ErrorCode.SIGNED_OUT, e.code)
        }
        assertEquals(1, fetcher.calls.get())
        assertNull(storage.value)
        assertEquals(AuthState.SIGNED_OUT, manager.state())
    }

    test("token manager: a network failure keeps the tokens and is retryable") {
        val storage = MemoryStorage()
        val time = ManualTime(START)
        var online = false
        val fetcher = SlowFetcher { n, _ ->
            if (!online) throw FetchException.Network("offline")
            TokenGrant("A${n + 1}", "R${n + 1}", 900uL)
        }
        val manager = signedIn(fetcher, storage, time)
        time.advance(900)
        val e = assertFailsWith<AuthgateException.Client> { manager.accessToken() }
        assertEquals(ErrorCode.FETCH_FAILED, e.code)
        assertEquals(AuthState.SIGNED_IN, manager.state())
        assertTrue(storage.value!!.contains("\"R1\""))
        online = true
        assertEquals("A3", manager.accessToken())
    }

    test("token manager: lost Keystore keys ask for re-authentication instead of crashing") {
        val storage = MemoryStorage()
        signedIn(SlowFetcher { _, _ -> error("unused") }, storage)
        storage.failure = StorageException.KeysLost()
        val manager = TokenManager(storage, SlowFetcher { _, _ -> error("unused") }, null, ManualTime(START))
        val e = assertFailsWith<AuthgateException.Client> { manager.accessToken() }
        assertEquals(ErrorCode.REAUTHENTICATION_REQUIRED, e.code)
        assertEquals(AuthState.SIGNED_OUT, manager.state())
    }

    test("token manager: an unexpected exception in the app's fetcher or storage is an error, not a crash") {
        val time = ManualTime(START)
        val manager = signedIn(object : TokenFetcher {
            override fun fetch(refreshToken: String?): TokenGrant = throw IllegalStateException("bug in the app")
        }, MemoryStorage(), time)
        time.advance(900)
        val e = assertFailsWith<AuthgateException.Client> { manager.accessToken() }
        assertEquals(ErrorCode.FETCH_FAILED, e.code)

        val broken = object : dev.authgate.mobile.TokenStorage {
            override fun read(): String? = throw RuntimeException("disk on fire")
            override fun write(value: String) = throw RuntimeException("disk on fire")
            override fun delete() = throw RuntimeException("disk on fire")
        }
        val m2 = TokenManager(broken, SlowFetcher { _, _ -> error("unused") }, null, time)
        val e2 = assertFailsWith<AuthgateException.Client> { m2.restore() }
        assertEquals(ErrorCode.STORAGE_FAILED, e2.code)
    }

    test("token manager: a fetcher that asks its own manager for a token gets an error, not a hang") {
        val time = ManualTime(START)
        var inner: String? = null
        lateinit var manager: TokenManager
        manager = signedIn(object : TokenFetcher {
            override fun fetch(refreshToken: String?): TokenGrant {
                inner = outcome { manager.accessToken() }.second   // e.g. an interceptor on the refresh call
                throw FetchException.Network("gave up")
            }
        }, MemoryStorage(), time)
        time.advance(900)
        val pool = Executors.newSingleThreadExecutor()
        val result = pool.submit<Result<String>> { runCatching { manager.accessToken() } }.get(10, TimeUnit.SECONDS)
        pool.shutdown()
        assertEquals("invalid_input", inner)
        assertEquals(ErrorCode.FETCH_FAILED, (result.exceptionOrNull() as AuthgateException.Client).code)
    }

    test("token manager: listeners see signed in, refreshing, signed in, signed out") {
        val time = ManualTime(START)
        val manager = TokenManager(MemoryStorage(), SlowFetcher { n, _ -> TokenGrant("A${n + 1}", null, 900uL) }, null, time)
        val recorder = Recorder()
        manager.addListener(recorder)
        manager.signIn(TokenGrant("A1", "R1", 900uL, START.toULong()))
        time.advance(900)
        assertEquals("A2", manager.accessToken())
        manager.signOut()
        assertEquals(listOf(AuthState.SIGNED_IN, AuthState.REFRESHING, AuthState.SIGNED_IN, AuthState.SIGNED_OUT), recorder.states.toList())
        val e = assertFailsWith<AuthgateException.Client> { manager.accessToken() }
        assertEquals(ErrorCode.SIGNED_OUT, e.code)
    }
}
