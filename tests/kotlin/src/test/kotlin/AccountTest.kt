// Account login end to end through the generated Kotlin bindings (JVM, JNA) against a real
// sandbox platform process. `cargo xtask test` starts the sandbox and sets STARPOS_SANDBOX_URL.

import java.net.HttpURLConnection
import java.net.URI
import java.nio.file.Files
import java.util.concurrent.ConcurrentHashMap
import kotlin.random.Random
import kotlin.test.assertEquals
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import uniffi.starpos.AlertKind
import uniffi.starpos.Severity
import org.junit.jupiter.api.assertThrows
import uniffi.starpos.SecureStore
import uniffi.starpos.SmsPurpose
import uniffi.starpos.StarPos
import uniffi.starpos.StarPosConfig
import uniffi.starpos.StarPosException

class AccountTest {
    private val password = "Kt2026test"
    private val dataRoot = Files.createTempDirectory("starpos-kt")

    private fun newPhone() = newPhone("135")

    private fun client(device: String, store: MapStore = MapStore()) =
        StarPos(StarPosConfig(Dev.base + "/", dataRoot.resolve(device).toString(), device), store)

    private suspend fun register(c: StarPos, phone: String) {
        c.account().requestSmsCode(phone, SmsPurpose.REGISTER)
        c.account().register(phone, password, Dev.smsCode(phone, "register"))
    }

    @Test
    fun registerLoginOnNewDeviceRefreshAndLogout() = runBlocking {
        val phone = newPhone()
        val a = client("kt-phone-a")
        register(a, phone)

        Dev.advanceClock(5)
        val storeB = MapStore()
        val b = client("kt-phone-b", storeB)
        assertThrows<StarPosException.DeviceVerificationRequired> { b.account().login(phone, password, null) }
        b.account().requestSmsCode(phone, SmsPurpose.LOGIN)
        val session = b.account().login(phone, password, Dev.smsCode(phone, "login"))
        assertEquals(15, session.merchantId.length)
        assertEquals("kt-phone-b", b.currentSession()?.deviceId)

        // The first phone hears of the new one in its alert feed, once.
        val raised = a.alerts().refresh()
        assertEquals(listOf(AlertKind.NEW_DEVICE to "kt-phone-b"), raised.map { it.kind to it.subject })
        assertEquals(Severity.CRITICAL, raised[0].severity)
        assertTrue(a.alerts().refresh().isEmpty())
        assertEquals(1UL, a.alerts().unreadCount())
        assertEquals(1UL, a.alerts().markAllRead())

        // Expired token: many racing calls, one refresh.
        Dev.expireAccess(phone)
        val profiles = (1..6).map { async { b.account().profile() } }.awaitAll()
        assertEquals(setOf(session.merchantId), profiles.map { it.merchantId }.toSet())
        assertEquals(1, Dev.refreshes(phone))

        val secrets = storeB.values.values.toList()
        assertTrue(secrets.isNotEmpty())
        b.account().logout()
        assertNull(b.currentSession())
        assertTrue(storeB.values.isEmpty())
        assertThrows<StarPosException.NotLoggedIn> { b.account().profile() }

        // No token or password in the data folder.
        val files = Files.walk(dataRoot).filter { Files.isRegularFile(it) }.map { Files.readAllBytes(it) }.toList()
        assertTrue(files.isNotEmpty())
        for (blob in files) {
            val text = String(blob, Charsets.ISO_8859_1)
            assertTrue(!text.contains(password))
            for (secret in secrets) assertTrue(!text.contains(String(secret, Charsets.ISO_8859_1)))
        }

        // Both devices stay bound after a logout; the other one is unbound with the password,
        // and its next login needs an SMS code again.
        val devices = a.account().devices()
        assertEquals(setOf("kt-phone-a" to true, "kt-phone-b" to false), devices.map { it.deviceId to it.thisDevice }.toSet())
        assertThrows<StarPosException.InvalidInput> { a.account().unbindDevice("kt-phone-b", "Wrong2026kt") }
        a.account().unbindDevice("kt-phone-b", password)
        assertThrows<StarPosException.DeviceVerificationRequired> { b.account().login(phone, password, null) }
        assertEquals(listOf("kt-phone-a"), a.account().devices().map { it.deviceId })
        a.close(); b.close()
    }

    @Test
    fun fiveWrongPasswordsLockTheAccount() = runBlocking {
        val phone = newPhone()
        val c = client("kt-lock")
        register(c, phone)
        c.account().logout()
        for (left in listOf(4u, 3u, 2u, 1u)) {
            val e = assertThrows<StarPosException.WrongPassword> { c.account().login(phone, "Wrong2026kt", null) }
            assertEquals(left, e.triesLeft)
        }
        val locked = assertThrows<StarPosException.AccountLocked> { c.account().login(phone, "Wrong2026kt", null) }
        assertEquals(300uL, locked.retryAfterSecs)
        assertTrue(locked.lockedUntilUnix >= System.currentTimeMillis() / 1000 + 290)
        assertThrows<StarPosException.AccountLocked> { c.account().login(phone, password, null) }
        c.close()
    }

    @Test
    fun badInputIsTyped() = runBlocking {
        val c = client("kt-input")
        val e = assertThrows<StarPosException.InvalidInput> { c.account().requestSmsCode("123", SmsPurpose.REGISTER) }
        assertEquals("phone", e.field)
        val cfg = assertThrows<StarPosException.InvalidInput> {
            StarPos(StarPosConfig("http://pay.example.com/", dataRoot.resolve("x").toString(), "d"), MapStore())
        }
        assertEquals("platform_url", cfg.field)
        c.close()
    }
}
