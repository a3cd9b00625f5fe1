// Card sales through the Kotlin bindings against the sandbox platform and the simulated reader
// (over loopback TCP): an approved chip sale with its steps, a sale whose answer never
// arrives (reversed rather than sent again under a new key), a Guangdong merchant refused in
// Hunan until its cross-province application is approved, a signed sale with its location, and
// a sale the merchant cancels at the reader.

import java.nio.file.Files
import java.util.Collections
import kotlin.random.Random
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import uniffi.starpos.ApplicationStatus
import uniffi.starpos.CardElements
import uniffi.starpos.CardReader
import uniffi.starpos.Location
import uniffi.starpos.LocationProvider
import uniffi.starpos.NetworkType
import uniffi.starpos.Province
import uniffi.starpos.Reachability
import uniffi.starpos.provinceAt
import uniffi.starpos.RealName
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

class StepRecorder : SaleListener {
    val steps: MutableList<SaleStep> = Collections.synchronizedList(mutableListOf())
    override fun onStep(step: SaleStep) { steps.add(step) }
}

/// Presses "cancel" when the sale reaches `at`; `answer` is what cancelSale said.
class CancelAt(private val c: StarPos, private val at: SaleStep) : SaleListener {
    @Volatile var answer: Boolean? = null
    override fun onStep(step: SaleStep) { if (step == at && answer == null) answer = c.cancelSale() }
}

/// Xiangtan, Hunan, as the phone's GPS would report it.
class Xiangtan : LocationProvider {
    override fun currentLocation() = Location(27.829729, 112.944052, 25.0)
}

class PaymentTest {
    private val addr = (System.getenv("STARPOS_READER_ADDR") ?: error("run through `cargo xtask test`")).removePrefix("tcp://")
    private val identity = System.getenv("STARPOS_READER_IDENTITY")!!.chunked(2).map { it.toInt(16).toByte() }.toByteArray()

    private var phone = ""

    /// A merchant with real-name details and a bound settlement card.
    private suspend fun merchant(device: String): StarPos {
        phone = "136" + (1..8).map { Random.nextInt(10) }.joinToString("")
        val c = StarPos(StarPosConfig(Dev.base + "/", Files.createTempDirectory("starpos-kt-pay").toString(), device), MapStore())
        c.requestSmsCode(phone, SmsPurpose.REGISTER)
        c.register(phone, "Kt2026test", Dev.smsCode(phone, "register"))
        c.merchantProfile()
        c.submitRealName(RealName("张三", "11010519491231002X", "星标测试店", null))
        val pending = c.startCardBinding(CardElements("6222021234567890128", "张三", "11010519491231002X", "13900139000"))
        c.confirmCardBinding(pending.bindId, Dev.smsCode("13900139000", "bind_card"))
        return c
    }

    private suspend fun reader(): CardReader {
        val (host, port) = addr.split(":").let { it[0] to it[1].toInt() }
        val reader = CardReader(SocketBleLink(host, port, 185))
        reader.connect("SP100-000123", identity)
        return reader
    }

    @Test
    fun approvedSaleAndAReversal() = runBlocking {
        val c = merchant("kt-seller")
        val reader = reader()
        try {
            val steps = StepRecorder()
            val sale = c.startSale(reader, 20_000L, "kt", steps)
            assertTrue(sale.status is SaleStatus.Approved, "got ${sale.status}")
            assertEquals(listOf(SaleStep.WAITING_FOR_CARD, SaleStep.WAITING_FOR_PIN, SaleStep.AUTHORIZING, SaleStep.COMPLETING_ON_CARD), steps.steps.toList())
            assertEquals(100L, sale.feeFen)
            assertEquals("approved", Dev.paymentStatus(sale.id))
            val receipt = c.receipt(sale.id, false)
            assertEquals("000000".length, receipt.voucherNumber.length)
            assertTrue(c.receiptText(sale.id, false).contains("RMB 200.00"))
            val printer = c.receiptEscpos(sale.id, false)
            assertTrue(String(printer, charset("GB18030")).contains("签购单"))

            Dev.setFaults("{\"drop_response_after_commit\":100}")
            val lost = c.startSale(reader, 900L, null, StepRecorder())
            assertEquals(SaleStatus.Reversed("no_answer"), lost.status)
            assertEquals("reversed", Dev.paymentStatus(lost.id))
            assertEquals(listOf(lost.id, sale.id), c.recentSales(10u).map { it.id })
            Dev.setFaults()
            assertEquals(SaleStatus.Voided, c.voidSale(sale.id, "Kt2026test").status)
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
        val reader = reader()
        try {
            c.setLocationProvider(Xiangtan())
            c.setNetworkType(NetworkType.MOBILE)
            assertEquals("43", c.currentProvince()?.code)
            assertEquals(Province("82", "澳门特别行政区", "Macao"), provinceAt(22.193, 113.540))
            assertEquals(null, provinceAt(37.5665, 126.978), "Seoul")

            // Registered in Guangdong, the phone is in Hunan: refused before the card is read.
            val refused = assertFailsWith<StarPosException.CrossProvinceNotApproved> {
                c.startSale(reader, 6_600L, null, StepRecorder())
            }
            assertEquals("43" to "44", refused.here.code to refused.registered.code)
            Dev.crossProvince(phone, "\"review_secs\":1")
            val filed = c.applyCrossProvince("43", "湘潭展销会", 5u)
            assertEquals(ApplicationStatus.PENDING, filed.status)
            assertFailsWith<StarPosException.CrossProvinceNotApproved> { c.startSale(reader, 6_600L, null, StepRecorder()) }
            Thread.sleep(1_200)
            val reviewed = c.refreshCrossProvince().applications.first { it.id == filed.id }
            assertEquals(ApplicationStatus.APPROVED, reviewed.status)

            val sale = c.startSale(reader, 6_600L, null, StepRecorder())
            assertEquals("43", sale.province)
            assertEquals("43", Dev.paymentField(sale.id, "province"))
            val used = c.dataUsageMonth(null)
            assertTrue(used.mobile.bytesUp > 0uL && used.kinds.any { it.kind == "payments/authorize" }, "$used")
            assertEquals(Location(27.829729, 112.944052, 25.0), sale.location)
            val points = (0 until 150).map { SignaturePoint((20 + 4 * it).toUInt(), (80 + it % 30).toUInt(), (8 * it).toUInt()) }
            c.signSale(sale.id, Signature(720u, 240u, listOf(SignatureStroke(points))))
            val png = c.receipt(sale.id, false).signaturePng!!
            assertEquals(0x89.toByte(), png[0])
            var uploaded = false
            repeat(100) {
                if (!uploaded) {
                    uploaded = c.sale(sale.id).signature == SignatureState.UPLOADED
                    if (!uploaded) Thread.sleep(50)
                }
            }
            assertTrue(uploaded, "the signature reached the platform")
            assertTrue(Dev.paymentField(sale.id, "signature_bytes").toInt() in 1 until png.size)
            assertEquals("27829729", Dev.paymentField(sale.id, "latitude_e6"))

            val press = CancelAt(c, SaleStep.WAITING_FOR_CARD)
            assertFailsWith<StarPosException.SaleCancelled> { c.startSale(reader, 1_000L, null, press) }
            assertEquals(true, press.answer)
            assertEquals(false, c.cancelSale())
            assertEquals(listOf(sale.id), c.recentSales(10u).map { it.id })

            // The app reports no network: nothing is sent, the sale stops before the card.
            c.setNetworkType(NetworkType.OFFLINE)
            assertEquals(Reachability.OFFLINE, c.connectionStatus().reachability)
            assertFailsWith<StarPosException.Offline> { c.startSale(reader, 1_000L, null, StepRecorder()) }
            c.setNetworkType(NetworkType.MOBILE)
        } finally {
            reader.disconnect()
            reader.close()
            c.close()
        }
    }
}
