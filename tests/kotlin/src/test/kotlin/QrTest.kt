// QR payments' offline functions through the Kotlin bindings: the wallet of a scanned payment
// code, and the EMVCo merchant-presented payload read and written, its CRC checked by a
// CRC-16/CCITT-FALSE written here in Kotlin.

import kotlin.test.assertEquals
import kotlin.test.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import uniffi.starpos.MerchantQrInput
import uniffi.starpos.QrDataObject
import uniffi.starpos.QrMerchantAccount
import uniffi.starpos.StarPosException
import uniffi.starpos.Wallet
import uniffi.starpos.classifyPaymentCode
import uniffi.starpos.decodeMerchantQr
import uniffi.starpos.encodeMerchantQr

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
}
