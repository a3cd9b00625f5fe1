// Card sales through the Kotlin bindings against the sandbox platform and the simulated reader
// (over loopback TCP): an approved chip sale with its steps, a sale whose answer never
// arrives (reversed rather than sent again under a new key), a Guangdong merchant refused in
// Hunan until its cross-province application is approved, a signed sale with its location, and
// a sale the merchant cancels at the reader.

import java.nio.file.Files
import java.util.Collections
import kotlin.concurrent.thread
import kotlin.random.Random
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Test
import uniffi.starpos.ReceiptCopy
import uniffi.starpos.ApplicationStatus
import uniffi.starpos.AttentionListener
import uniffi.starpos.CardElements
import uniffi.starpos.CardReader
import uniffi.starpos.EntryMode
import uniffi.starpos.Location
import uniffi.starpos.LocationProvider
import uniffi.starpos.NetworkType
import uniffi.starpos.Province
import uniffi.starpos.Reachability
import uniffi.starpos.provinceAt
import uniffi.starpos.RealName
import uniffi.starpos.ReversalReason
import uniffi.starpos.Sale
import uniffi.starpos.SaleHandle
import uniffi.starpos.SaleListener
import uniffi.starpos.SaleStatus
import uniffi.starpos.SaleStep
import uniffi.starpos.Signature
import uniffi.starpos.SignaturePoint
import uniffi.starpos.SignatureState
import uniffi.starpos.SignatureStroke
import uniffi.starpos.SmsPurpose
import uniffi.starpos.StarPosException
import uniffi.starpos.StarPos
import uniffi.starpos.StarPosConfig

/// Presses "cancel" on the sale's handle when the sale reaches `at`, from another thread as a
/// button would (the step may come before startSale has returned the handle).
class CancelAt(private val at: SaleStep) : SaleListener {
    @Volatile var handle: SaleHandle? = null
    @Volatile private var answer: Boolean? = null
    @Volatile private var pressed: Thread? = null
    override fun onStep(step: SaleStep) {
        if (step == at && pressed == null) {
            pressed = thread {
                while (handle == null) Thread.sleep(1)
                answer = handle!!.cancel()
            }
        }
    }
    /// What cancel() said, once the press is over.
    fun done(): Boolean? { pressed?.join(); return answer }
}

/// Xiangtan, Hunan, as the phone's GPS would report it.
class Xiangtan : LocationProvider {
    override fun currentLocation() = Location(27.829729, 112.944052, 25.0)
}

class PaymentTest {
    private var phone = ""

    /// A new merchant ready to sell, logged in on `device`.
    private suspend fun merchant(device: String): StarPos {
        phone = newPhone("136")
        return readyMerchant(phone, device)
    }

    private fun newLink(): SocketBleLink = SimReader.link()

    private suspend fun reader(c: StarPos, link: SocketBleLink = newLink()): CardReader = SimReader.connected(c, link)

    @Test
    fun approvedSaleAndAReversal() = runBlocking {
        val c = merchant("kt-seller")
        val reader = reader(c)
        try {
            val steps = StepRecorder()
            val sale = c.payments().startSale(reader, 20_000L, "kt", steps).outcome()
            assertTrue(sale.status is SaleStatus.Approved, "got ${sale.status}")
            assertEquals(listOf(SaleStep.WAITING_FOR_CARD, SaleStep.WAITING_FOR_PIN, SaleStep.AUTHORIZING, SaleStep.COMPLETING_ON_CARD), steps.steps.toList())
            assertEquals(100L, sale.feeFen)
            assertEquals("approved", Dev.paymentStatus(sale.id))
            val receipt = c.payments().receipt(sale.id, ReceiptCopy.MERCHANT, false)
            assertEquals("000000".length, receipt.voucherNumber.length)
            // The slip's QR opens the platform's e-receipt page, by its token, not the sale's key.
            assertFalse(receipt.eReceiptUrl.contains(sale.id))
            val page = java.net.URI(receipt.eReceiptUrl).toURL().readText()
            assertTrue(page.contains("¥200.00") && page.contains("交易成功 APPROVED") && !page.contains("手续费"), page)
            assertTrue(c.payments().receiptText(sale.id, ReceiptCopy.MERCHANT, false).contains("RMB 200.00"))
            val printer = c.payments().receiptEscpos(sale.id, ReceiptCopy.MERCHANT, false)
            assertTrue(String(printer, charset("GB18030")).contains("签购单"))

            Dev.setFaults("{\"drop_response_after_commit\":100}")
            val lost = c.payments().startSale(reader, 900L, null, StepRecorder()).outcome()
            assertEquals(SaleStatus.Reversed(ReversalReason.NO_ANSWER), lost.status)
            assertEquals("reversed", Dev.paymentStatus(lost.id))
            assertEquals(listOf(lost.id, sale.id), c.payments().recentSales(10u).map { it.id })
            Dev.setFaults()
            assertEquals(SaleStatus.Voided, c.payments().voidSale(sale.id, PASSWORD).status)
            assertEquals("voided", Dev.paymentStatus(sale.id))
        } finally {
            Dev.setFaults()
            reader.disconnect()
            reader.close()
            c.close()
        }
    }

    @Test
    fun signedSaleWithItsLocationAndACancelledOne() = runBlocking {
        val c = merchant("kt-signer")
        val reader = reader(c)
        try {
            c.setLocationProvider(Xiangtan())
            c.network().setNetworkType(NetworkType.MOBILE)
            assertEquals("43", c.regions().currentProvince()?.code)
            assertEquals(Province("82", "澳门特别行政区", "Macao"), provinceAt(22.193, 113.540))
            assertEquals(null, provinceAt(37.5665, 126.978), "Seoul")

            // Registered in Guangdong, the phone is in Hunan: refused before the card is read.
            val refused = assertFailsWith<StarPosException.CrossProvinceNotApproved> {
                c.payments().startSale(reader, 6_600L, null, StepRecorder()).outcome()
            }
            assertEquals("43" to "44", refused.here.code to refused.registered.code)
            // A minute of platform time for the review, moved rather than slept (a one-second
            // review raced the second boundary and could be approved before the second sale).
            Dev.crossProvince(phone, "\"review_secs\":60")
            val filed = c.regions().applyCrossProvince("43", "湘潭展销会", 5u)
            assertEquals(ApplicationStatus.PENDING, filed.status)
            assertFailsWith<StarPosException.CrossProvinceNotApproved> { c.payments().startSale(reader, 6_600L, null, StepRecorder()).outcome() }
            Dev.advanceClock(61)
            val reviewed = c.regions().refreshCrossProvince().applications.first { it.id == filed.id }
            assertEquals(ApplicationStatus.APPROVED, reviewed.status)

            val sale = c.payments().startSale(reader, 6_600L, null, StepRecorder()).outcome()
            assertEquals("43", sale.province)
            assertEquals("43", Dev.paymentField(sale.id, "province"))
            val used = c.network().dataUsageMonth(null)
            assertTrue(used.mobile.bytesUp > 0uL && used.kinds.any { it.kind == "payments/authorize" }, "$used")
            assertEquals(Location(27.829729, 112.944052, 25.0), sale.location)
            val points = (0 until 150).map { SignaturePoint((20 + 4 * it).toUInt(), (80 + it % 30).toUInt(), (8 * it).toUInt()) }
            c.payments().signSale(sale.id, Signature(720u, 240u, listOf(SignatureStroke(points))))
            val png = c.payments().receipt(sale.id, ReceiptCopy.MERCHANT, false).signaturePng!!
            assertEquals(0x89.toByte(), png[0])
            var uploaded = false
            repeat(100) {
                if (!uploaded) {
                    uploaded = c.payments().sale(sale.id).signature == SignatureState.UPLOADED
                    if (!uploaded) Thread.sleep(50)
                }
            }
            assertTrue(uploaded, "the signature reached the platform")
            assertTrue(Dev.paymentField(sale.id, "signature_bytes").toInt() in 1 until png.size)
            assertEquals("27829729", Dev.paymentField(sale.id, "latitude_e6"))

            val press = CancelAt(SaleStep.WAITING_FOR_CARD)
            press.handle = c.payments().startSale(reader, 1_000L, null, press)
            assertFailsWith<StarPosException.SaleCancelled> { press.handle!!.outcome() }
            assertEquals(true, press.done())
            assertEquals(false, press.handle!!.cancel(), "nothing left to cancel once it ended")
            assertEquals(listOf(sale.id), c.payments().recentSales(10u).map { it.id })

            // The app reports no network: nothing is sent, the sale stops before the card.
            c.network().setNetworkType(NetworkType.OFFLINE)
            assertEquals(Reachability.OFFLINE, c.network().connectionStatus().reachability)
            assertFailsWith<StarPosException.Offline> { c.payments().startSale(reader, 1_000L, null, StepRecorder()).outcome() }
            c.network().setNetworkType(NetworkType.MOBILE)
        } finally {
            reader.disconnect()
            reader.close()
            c.close()
        }
    }

    /** A swiped chip card is asked for its chip; a chip that cannot be read falls back to a
     *  swipe, approved and flagged on the sale, the receipt and the platform. */
    @Test
    fun aSaleNeedingAttentionIsPushedToTheApp() = runBlocking {
        val c = merchant("kt-attention")
        val reader = reader(c)
        val told: MutableList<List<String>> = Collections.synchronizedList(mutableListOf())
        try {
            // The platform is down: the sale is reversed, and the reversal cannot get through.
            Dev.setFaults("{\"fail_5xx\":100}")
            val sale = c.payments().startSale(reader, 7_700L, null, StepRecorder()).outcome()
            assertTrue(sale.status is SaleStatus.ReversalPending, "got ${sale.status}")
            c.payments().setAttentionListener(object : AttentionListener {
                override fun onNeedsAttention(sales: List<Sale>) { told.add(sales.map { it.id }) }
            })
            assertEquals(listOf(emptyList<String>()), told.toList(), "told at once: nothing yet")
            Dev.advanceClock(16 * 60)
            c.merchant().profile() // any answer carries the platform's time
            withTimeout(30_000) { while (told.size < 2) delay(100) }
            assertEquals(listOf(sale.id), told[1])
            Dev.setFaults()
            Dev.advanceClock(60)
            c.payments().resolvePending()
            assertEquals(emptyList<String>(), told.last(), "told it resolved")
        } finally {
            Dev.setFaults()
            reader.disconnect()
            reader.close()
            c.close()
        }
    }

    @Test
    fun chipFirstAndTheFlaggedFallback() = runBlocking {
        val c = merchant("kt-chip-first")
        val reader = reader(c)
        try {
            val chipSteps = StepRecorder()
            val byChip = c.payments().startSale(reader, 6_607L, null, chipSteps).outcome()
            assertTrue(byChip.status is SaleStatus.Approved, "got ${byChip.status}")
            assertEquals(listOf(SaleStep.WAITING_FOR_CARD, SaleStep.USE_CHIP), chipSteps.steps.take(2))
            assertEquals(EntryMode.INSERT, byChip.entryMode)
            assertFalse(byChip.fallback)

            val fallbackSteps = StepRecorder()
            val fallback = c.payments().startSale(reader, 6_606L, null, fallbackSteps).outcome()
            assertTrue(fallback.status is SaleStatus.Approved, "got ${fallback.status}")
            assertEquals(listOf(SaleStep.WAITING_FOR_CARD, SaleStep.SWIPE_FALLBACK), fallbackSteps.steps.take(2))
            assertEquals(EntryMode.SWIPE, fallback.entryMode)
            assertTrue(fallback.fallback)
            assertEquals("true", Dev.paymentField(fallback.id, "fallback"))
            assertTrue(c.payments().receiptText(fallback.id, ReceiptCopy.MERCHANT, false).contains("(F)"))
        } finally {
            reader.disconnect()
            reader.close()
            c.close()
        }
    }

    @Test
    fun eachCardAndPinFailureIsItsOwnError() = runBlocking {
        val c = merchant("kt-failures")
        val link = newLink()
        val reader = reader(c, link)
        val before = c.merchant().remainingToday().dailyTotalRemainingFen
        try {
            // The simulated customer misbehaves at these amounts (docs/test-cards.md).
            assertFailsWith<StarPosException.NoCard> { c.payments().startSale(reader, 6_601L, null, StepRecorder()).outcome() }
            assertFailsWith<StarPosException.CardUnreadable> { c.payments().startSale(reader, 6_602L, null, StepRecorder()).outcome() }
            assertFailsWith<StarPosException.CardRemoved> { c.payments().startSale(reader, 6_603L, null, StepRecorder()).outcome() }
            assertFailsWith<StarPosException.PinTimeout> { c.payments().startSale(reader, 6_604L, null, StepRecorder()).outcome() }
            assertFailsWith<StarPosException.PinCancelled> { c.payments().startSale(reader, 6_605L, null, StepRecorder()).outcome() }
            val dropAtPin = object : SaleListener {
                override fun onStep(step: SaleStep) { if (step == SaleStep.WAITING_FOR_PIN) link.drop() }
            }
            assertFailsWith<StarPosException.LinkLost> { c.payments().startSale(reader, 1_000L, null, dropAtPin).outcome() }
            assertTrue(c.payments().recentSales(10u).isEmpty(), "nothing journalled")
            assertEquals(before, c.merchant().remainingToday().dailyTotalRemainingFen, "no limit held")
        } finally {
            reader.disconnect()
            reader.close()
            c.close()
        }
    }
}
