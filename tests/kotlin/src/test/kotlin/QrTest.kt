// QR payments through the Kotlin bindings: the wallet of a scanned payment code, the EMVCo
// merchant-presented payload read and written (its CRC checked by a CRC-16/CCITT-FALSE written
// here in Kotlin), and sales by the customer's payment code against the sandbox wallets: paid at
// once, and cancelled by the merchant while the customer confirms (reversed, nothing charged).

import kotlin.random.Random
import kotlin.test.assertEquals
import kotlin.test.assertNotNull
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import uniffi.starpos.ReceiptCopy
import org.junit.jupiter.api.assertThrows
import uniffi.starpos.PaymentMethod
import uniffi.starpos.ReversalReason
import uniffi.starpos.SaleStatus
import uniffi.starpos.SaleStep
import uniffi.starpos.MerchantQrInput
import uniffi.starpos.QrDataObject
import uniffi.starpos.QrMerchantAccount
import uniffi.starpos.StarPosException
import uniffi.starpos.Wallet
import uniffi.starpos.classifyPaymentCode
import uniffi.starpos.decodeMerchantQr
import uniffi.starpos.encodeMerchantQr
import uniffi.starpos.qrPng

class QrTest {
    private fun crc(text: String): String {
        var crc = 0xFFFF
        for (b in text.toByteArray(Charsets.UTF_8)) {
            crc = crc xor ((b.toInt() and 0xFF) shl 8)
            repeat(8) { crc = if (crc and 0x8000 != 0) ((crc shl 1) xor 0x1021) and 0xFFFF else (crc shl 1) and 0xFFFF }
        }
        return "%04X".format(crc)
    }

    @Test
    fun theWalletOfAScannedPaymentCode() {
        assertEquals("29B1", crc("123456789"), "the check value of CRC-16/CCITT-FALSE")
        assertEquals(Wallet.WE_CHAT, classifyPaymentCode("134567890123456789"))
        assertEquals(Wallet.ALIPAY, classifyPaymentCode("2812345678901234"))
        assertEquals(Wallet.UNION_PAY, classifyPaymentCode("6212345678901234567"))
        assertThrows<StarPosException.InvalidPaymentCode> { classifyPaymentCode("https://qr.alipay.com/bax01234") }
    }

    @Test
    fun anEncodedPayloadDecodesAndCarriesAnAgreedCrc() {
        val payload = encodeMerchantQr(
            MerchantQrInput(
                dynamic = true,
                accounts = listOf(QrMerchantAccount("26", "com.starpos.sandbox", "", listOf(QrDataObject("01", "ord_kt_0001")))),
                categoryCode = "5411",
                currency = 156u,
                amountFen = 8_800L,
                country = "CN",
                name = "星标测试店",
                city = "深圳",
                additional = listOf(QrDataObject("05", "ord_kt_0001")),
                alternateLanguage = emptyList(),
            ),
        )
        assertEquals(crc(payload.dropLast(4)), payload.takeLast(4))
        val qr = decodeMerchantQr(payload)
        assertTrue(qr.dynamic)
        assertEquals(8_800L, qr.amountFen)
        assertEquals("星标测试店", qr.name)
        assertThrows<StarPosException.InvalidMerchantQr> { decodeMerchantQr(payload.dropLast(4) + "0000") }
    }

    /** A payment code of the wallet's shape ending in `behaviour` (docs/qr.md), unique per call. */
    private fun paymentCode(prefix: String, length: Int, behaviour: String): String =
        prefix + (1..length - prefix.length - 2).map { Random.nextInt(10) }.joinToString("") + behaviour

    @Test
    fun salesByTheCustomersPaymentCode() = runBlocking {
        val c = readyMerchant(newPhone("135"), "kt-qr")
        val paid = c.qr().startPaymentCodeSale(paymentCode("13", 18, "00"), 10_000L, "kt", StepRecorder()).outcome()
        assertTrue(paid.status is SaleStatus.Approved, "got ${paid.status}")
        assertEquals(PaymentMethod.CUSTOMER_CODE, paid.method)
        assertEquals(Wallet.WE_CHAT, paid.wallet)
        assertEquals(null, paid.entryMode)
        assertNotNull(paid.walletTxn)
        assertTrue(c.payments().receiptText(paid.id, ReceiptCopy.MERCHANT, false).contains("支付方式: 微信支付"))
        // Voided the same day under the wallet's rules: nothing is charged.
        assertEquals(SaleStatus.Voided, c.payments().voidSale(paid.id, PASSWORD).status)

        // The customer is still confirming on their phone when the merchant cancels: reversed.
        val press = CancelAt(SaleStep.WAITING_FOR_CUSTOMER)
        press.handle = c.qr().startPaymentCodeSale(paymentCode("62", 19, "01"), 2_000L, null, press)
        val cancelled = press.handle!!.outcome()
        assertEquals(true, press.done())
        assertEquals(SaleStatus.Reversed(ReversalReason.MERCHANT_CANCELLED), cancelled.status)

        assertThrows<StarPosException.InvalidPaymentCode> {
            runBlocking { c.qr().startPaymentCodeSale("1234", 100L, null, StepRecorder()).outcome() }
        }
        Unit
    }

    @Test
    fun aSaleByTheQrThePhoneShows() = runBlocking {
        val c = readyMerchant(newPhone("134"), "kt-qr-shown")
        val shown = c.qr().showOrder(2_500L, "kt", null, StepRecorder())
        val order = shown.order()
        assertEquals(2_500L, order.amountFen)
        assertEquals(crc(order.payload.dropLast(4)), order.payload.takeLast(4), "Kotlin's own CRC agrees")
        assertTrue(qrPng(order.payload, 6u).isNotEmpty())
        assertEquals("paid", Dev.customerScans(order.payload, "alipay"))
        val sale = shown.outcome()
        assertTrue(sale.status is SaleStatus.Approved, "got ${sale.status}")
        assertEquals(PaymentMethod.MERCHANT_QR, sale.method)
        assertEquals(Wallet.ALIPAY, sale.wallet)
    }
}
