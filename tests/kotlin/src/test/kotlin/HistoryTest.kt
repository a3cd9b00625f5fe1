// Transaction history through the Kotlin bindings: sales on the simulated reader (loopback
// TCP) show up in the ledger, page by cursor, add up in today's statistics, export as CSV with
// a BOM for Excel, and the hash chain checks out.

import java.nio.file.Files
import java.util.Collections
import kotlin.random.Random
import kotlin.test.assertEquals
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import uniffi.starpos.CardElements
import uniffi.starpos.CardReader
import uniffi.starpos.ExportListener
import uniffi.starpos.HistoryFilter
import uniffi.starpos.RealName
import uniffi.starpos.SmsPurpose
import uniffi.starpos.StarPos
import uniffi.starpos.StarPosConfig
import uniffi.starpos.TransactionKind

class ProgressRecorder : ExportListener {
    val seen: MutableList<Pair<ULong, ULong>> = Collections.synchronizedList(mutableListOf())
    override fun onProgress(done: ULong, total: ULong) { seen.add(done to total) }
}

class HistoryTest {
    @Test
    fun pagesStatisticsAndExport() = runBlocking {
        val c = readyMerchant(newPhone("133"), "kt-historian")
        val reader = SimReader.connected(c)
        try {
            val sales = listOf(1_500L, 2_500L, 3_500L).map { c.payments().startSale(reader, it, null, StepRecorder()).outcome() }
            val ids = mutableListOf<String>()
            var cursor: String? = null
            do {
                val page = c.history().transactions(HistoryFilter(), cursor, 2u)
                ids += page.items.map { it.id }
                cursor = page.nextCursor
            } while (cursor != null)
            assertEquals(sales.reversed().map { it.id }, ids)
            val big = c.history().transactions(HistoryFilter(kinds = listOf(TransactionKind.SALE), minAmountFen = 2_000L), null, 50u)
            assertEquals(listOf(3_500L, 2_500L), big.items.map { it.amountFen })

            val today = c.history().todaySummary()
            assertEquals(3L, today.totals.sales)
            assertEquals(7_500L, today.totals.grossFen)

            val out = Files.createTempDirectory("starpos-kt-export").resolve("账单.csv")
            val progress = ProgressRecorder()
            val summary = c.history().exportTransactions(HistoryFilter(), out.toString(), progress).outcome()
            assertEquals(3uL, summary.rows)
            val bytes = Files.readAllBytes(out)
            assertTrue(bytes[0] == 0xEF.toByte() && bytes[1] == 0xBB.toByte() && bytes[2] == 0xBF.toByte())
            assertTrue(String(bytes, Charsets.UTF_8).contains("交易时间,业务日期,类型"))
            assertEquals(3uL to 3uL, progress.seen.last())

            val check = c.history().verifyJournal()
            assertEquals(3uL, check.entries)
            assertNull(check.problem)
        } finally {
            reader.disconnect()
            reader.close()
            c.close()
        }
    }
}
