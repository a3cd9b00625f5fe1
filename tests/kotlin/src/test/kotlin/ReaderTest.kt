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
        val link = SimReader.link(mtu = 23)
        val reader = CardReader(link)
        assertEquals(SERIAL, reader.scan(1000u).first().id)
        assertThrows<StarPosException.ReaderIdentityMismatch> { reader.connect(SERIAL, ByteArray(32)) }
        val info = reader.connect(SERIAL, SimReader.identity)
        assertEquals(SERIAL, info.serial)
        assertTrue(link.writes > 3)
        reader.beep()
        assertTrue(reader.isConnected())
        link.drop()
        val lost = runCatching { reader.deviceInfo() }.exceptionOrNull()
        assertTrue(lost is StarPosException.LinkLost, "got $lost")
        assertFalse(reader.isConnected())
        assertEquals(SERIAL, reader.connect(SERIAL, SimReader.identity).serial)
        reader.disconnect()
        reader.close()
    }
}
