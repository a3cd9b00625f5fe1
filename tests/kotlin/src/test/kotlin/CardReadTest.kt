// Pairing and card reading through the Kotlin bindings: the platform certifies the simulated
// reader, the core connects by serial with the pinned key, reads a card (masked number only),
// reports prompts and state to a listener, and reconnects by itself after the link drops.

import java.nio.file.Files
import java.util.Collections
import kotlin.random.Random
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import uniffi.starpos.CardReader
import uniffi.starpos.EntryMode
import uniffi.starpos.ReaderEvent
import uniffi.starpos.ReaderListener
import uniffi.starpos.ReaderPrompt
import uniffi.starpos.ReaderState
import uniffi.starpos.SmsPurpose
import uniffi.starpos.StarPos
import uniffi.starpos.StarPosConfig
import uniffi.starpos.StarPosException

class Recorder : ReaderListener {
    val events: MutableList<ReaderEvent> = Collections.synchronizedList(mutableListOf())
    override fun onEvent(event: ReaderEvent) { events.add(event) }
    fun states() = synchronized(events) { events.filterIsInstance<ReaderEvent.StateChanged>().map { it.state } }
    fun prompts() = synchronized(events) { events.filterIsInstance<ReaderEvent.Prompt>().map { it.prompt } }
}

class CardReadTest {
    private val serial = SERIAL

    @Test
    fun pairReadACardAndReconnect() = runBlocking {
        val phone = "135" + (1..8).map { Random.nextInt(10) }.joinToString("")
        val dir = Files.createTempDirectory("starpos-kt-reader")
        val c = StarPos(StarPosConfig(Dev.base + "/", dir.toString(), "kt-reader"), MapStore())
        c.account().requestSmsCode(phone, SmsPurpose.REGISTER)
        c.account().register(phone, "Kt2026test", Dev.smsCode(phone, "register"))
        assertThrows<StarPosException.ReaderNotRecognised> { c.readers().pair("XX000-000000") }
        Dev.takeReaderBack(serial)
        val paired = c.readers().pair(serial)
        try {
            assertContentEquals(SimReader.identity, paired.identityPublic, "the platform certifies the factory key")

            val link = SimReader.link()
            val reader = CardReader(link)
            val events = Recorder()
            reader.setListener(events)
            // The core looks the pinned key up itself (the app never handles it).
            assertEquals(serial, c.readers().connect(reader, serial, 500u).serial)
            assertTrue(reader.state() is ReaderState.Ready)

            val card = reader.readCard(8_800L, listOf(EntryMode.INSERT, EntryMode.TAP), 30u)
            assertEquals(EntryMode.INSERT, card.entryMode)
            assertEquals("621700*********0015", card.maskedPan)
            assertTrue(card.pinRequired)
            assertEquals(listOf(ReaderPrompt.PRESENT_CARD, ReaderPrompt.READING_CARD), events.prompts().take(2))
            assertThrows<StarPosException.InvalidInput> { reader.readCard(-1L, listOf(EntryMode.INSERT), 30u) }
            assertThrows<StarPosException.CardUnreadable> { reader.readCard(100L, listOf(EntryMode.SWIPE), 30u) }

            link.drop()
            withTimeout(5_000) {
                // Judge from one snapshot of the history: a Reconnecting, then a Ready after it.
                while (events.states().dropWhile { it !is ReaderState.Reconnecting }.none { it is ReaderState.Ready }) {
                    delay(20)
                }
            }
            assertEquals(500L, reader.readCard(500L, listOf(EntryMode.INSERT), 30u).amountFen)
            reader.disconnect()
            assertTrue(reader.state() is ReaderState.Disconnected)
            reader.close()
        } finally {
            c.readers().release(serial)
        }
        assertTrue(c.readers().paired().isEmpty())
        c.close()
    }
}
