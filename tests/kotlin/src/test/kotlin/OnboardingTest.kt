// Onboarding through the Kotlin bindings: form checks, merchant profile, fees and limits.

import java.nio.file.Files
import kotlin.random.Random
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import uniffi.starpos.CardElements
import uniffi.starpos.CardKind
import uniffi.starpos.Limits
import uniffi.starpos.RealName
import uniffi.starpos.SmsPurpose
import uniffi.starpos.StarPos
import uniffi.starpos.StarPosConfig
import uniffi.starpos.StarPosException
import uniffi.starpos.checkBankCard
import uniffi.starpos.checkCreditCode
import uniffi.starpos.checkHolderName
import uniffi.starpos.checkResidentId

class OnboardingTest {
    private val password = "Kt2026test"

    @Test
    fun formChecks() {
        val card = checkBankCard("6222021234567890128")
        assertTrue(card.valid)
        assertEquals("622202*********0128", card.masked)
        assertEquals(CardKind.DEBIT, card.cardKind)
        assertFalse(checkBankCard("6222021234567890129").valid)
        assertEquals("1949-12-31", checkResidentId("11010519491231002X").birthDate)
        assertFalse(checkResidentId("110105194912310021").valid)
        assertTrue(checkCreditCode("91350100M000100Y43").valid)
        assertFalse(checkHolderName("··").valid)
    }

    @Test
    fun profileFeesAndLimits() = runBlocking {
        val phone = "134" + (1..8).map { Random.nextInt(10) }.joinToString("")
        val dir = Files.createTempDirectory("starpos-kt-onboarding")
        val c = StarPos(StarPosConfig(Dev.base + "/", dir.toString(), "kt-merchant"), MapStore())
        c.account().requestSmsCode(phone, SmsPurpose.REGISTER)
        c.account().register(phone, password, Dev.smsCode(phone, "register"))
        val profile = c.merchant().profile()
        assertEquals("44", profile.registeredProvince)
        assertEquals(2_000L, c.merchant().quoteFee(1_000_000L, CardKind.DEBIT, null).feeFen)

        val low = Limits(100_000L, 20_000L, 2u)
        assertEquals(low, c.merchant().setLimits(low, null))
        assertThrows<StarPosException.StepUpRequired> { c.merchant().setLimits(Limits(200_000L, 20_000L, 2u), null) }
        val above = assertThrows<StarPosException.LimitAboveCap> {
            c.merchant().setLimits(Limits(profile.caps.dailyTotalFen + 1, 20_000L, 2u), password)
        }
        assertEquals(profile.caps.dailyTotalFen, above.cap)
        assertEquals(100_000L, c.merchant().remainingToday().dailyTotalRemainingFen)
        c.close()
    }

    @Test
    fun realNameAndSettlementCard() = runBlocking {
        val phone = "133" + (1..8).map { Random.nextInt(10) }.joinToString("")
        val dir = Files.createTempDirectory("starpos-kt-cards")
        val c = StarPos(StarPosConfig(Dev.base + "/", dir.toString(), "kt-cards"), MapStore())
        c.account().requestSmsCode(phone, SmsPurpose.REGISTER)
        c.account().register(phone, password, Dev.smsCode(phone, "register"))
        val card = CardElements("6225881234567898", "张三", "11010519491231002X", "13900139000")
        assertThrows<StarPosException.RealNameRequired> { c.merchant().startCardBinding(card) }
        assertTrue(c.merchant().submitRealName(RealName("张三", "11010519491231002X", "咖啡小店", null)).realNameVerified)
        val pending = c.merchant().startCardBinding(card)
        assertEquals("622588******7898", pending.cardMasked)
        val bound = c.merchant().confirmCardBinding(pending.bindId, Dev.smsCode("13900139000", "bind_card"))
        assertTrue(bound.isDefault)
        assertEquals("招商银行", bound.issuerBank)
        assertThrows<StarPosException.CardAlreadyBound> { c.merchant().startCardBinding(card) }
        assertEquals(listOf(bound), c.merchant().settlementCards())
        // The journey ends with limits set.
        c.merchant().profile()
        val limits = Limits(300_000L, 100_000L, 3u)
        assertEquals(limits, c.merchant().setLimits(limits, null))
        assertEquals(100_000L, c.merchant().remainingToday().maxNextPaymentFen)
        c.close()
    }
}
