// The card reader through the Kotlin bindings: a Bluetooth link implemented in Kotlin (here over
// loopback TCP to the simulated reader), with the core's framing, secure session and retries.

import java.net.Socket
import kotlin.concurrent.thread
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import uniffi.starpos.BleDevice
import uniffi.starpos.BleLink
import uniffi.starpos.CardReader
import uniffi.starpos.LinkEvents
import uniffi.starpos.StarPosException

class ReaderTest {
    @Test
    fun secureConnectionAndADroppedLink() = runBlocking {
        val c = readyMerchant(newPhone("135"), "kt-reader-link")
        val link = SimReader.link(mtu = 23)
        val reader = CardReader(link)
        assertEquals(SERIAL, reader.scan(1000u).first().id)
        // Not paired on this phone yet: the core has no key to check the reader with.
        assertThrows<StarPosException.ReaderNotPaired> { c.readers().connect(reader, SERIAL, 500u) }
        Dev.takeReaderBack()
        c.readers().pair(SERIAL)
        val info = c.readers().connect(reader, SERIAL, 500u)
        assertEquals(SERIAL, info.serial)
        assertTrue(link.writes > 3)
        reader.beep()
        assertTrue(reader.isConnected())
        link.drop()
        val lost = runCatching { reader.deviceInfo() }.exceptionOrNull()
        assertTrue(lost is StarPosException.LinkLost, "got $lost")
        assertFalse(reader.isConnected())
        assertEquals(SERIAL, c.readers().connect(reader, SERIAL, 500u).serial)
        reader.disconnect()
        reader.close()
    }

    @Test
    fun aReaderPassedToAnotherMerchantRefusesTheFirstOnesPhone() = runBlocking {
        val first = readyMerchant(newPhone("135"), "kt-first-owner")
        val reader = SimReader.connected(first)
        reader.disconnect()
        // The reader goes to another merchant, whose phone pairs and connects.
        val second = readyMerchant(newPhone("135"), "kt-second-owner")
        SimReader.connected(second, SimReader.link()).disconnect()
        // The first phone's certificate is of the earlier pairing: the reader refuses it, the
        // core pairs again once, and the platform says the reader is another merchant's now.
        assertEquals(listOf(SERIAL), first.readers().paired().map { it.serial })
        assertThrows<StarPosException.ReaderPairedElsewhere> { first.readers().connect(reader, SERIAL, 500u) }
        assertFalse(reader.isConnected())
    }
}
