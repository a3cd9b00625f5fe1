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

private const val SERIAL = "SP100-000123"

/** Plays the phone's Bluetooth radio over a socket to the simulated reader. */
class SocketBleLink(private val host: String, private val port: Int, private val mtu: Int) : BleLink {
    @Volatile private var socket: Socket? = null
    @Volatile var writes = 0

    override suspend fun scan(timeoutMs: UInt): List<BleDevice> = listOf(BleDevice(SERIAL, "StarPOS-$SERIAL", -60))

    override suspend fun connect(deviceId: String, events: LinkEvents): UShort {
        val s = Socket(host, port)
        socket = s
        thread(isDaemon = true) {
            val buf = ByteArray(4096)
            while (true) {
                val n = try { s.getInputStream().read(buf) } catch (e: Exception) { -1 }
                if (n <= 0) { events.disconnected("socket closed"); break }
                events.received(buf.copyOf(n))
            }
        }
        return mtu.toUShort()
    }

    override suspend fun write(bytes: ByteArray) {
        check(bytes.size <= mtu - 3) { "the core never writes more than MTU - 3 bytes" }
        writes++
        socket!!.getOutputStream().write(bytes)
    }

    override suspend fun disconnect() {
        socket?.close()
    }

    fun drop() { socket?.shutdownInput(); socket?.shutdownOutput() }
}

class ReaderTest {
    private val addr = (System.getenv("STARPOS_READER_ADDR") ?: error("run through `cargo xtask test`")).removePrefix("tcp://")
    private val identity = System.getenv("STARPOS_READER_IDENTITY")!!.chunked(2).map { it.toInt(16).toByte() }.toByteArray()

    @Test
    fun secureConnectionAndADroppedLink() = runBlocking {
        val (host, port) = addr.split(":").let { it[0] to it[1].toInt() }
        val link = SocketBleLink(host, port, 23)
        val reader = CardReader(link)
        assertEquals(SERIAL, reader.scan(1000u).first().id)
        assertThrows<StarPosException.ReaderIdentityMismatch> { reader.connect(SERIAL, ByteArray(32)) }
        val info = reader.connect(SERIAL, identity)
        assertEquals(SERIAL, info.serial)
        assertTrue(link.writes > 3)
        reader.beep()
        assertTrue(reader.isConnected())
        link.drop()
        val lost = runCatching { reader.deviceInfo() }.exceptionOrNull()
        assertTrue(lost is StarPosException.LinkLost, "got $lost")
        assertFalse(reader.isConnected())
        assertEquals(SERIAL, reader.connect(SERIAL, identity).serial)
        reader.disconnect()
        reader.close()
    }
}
