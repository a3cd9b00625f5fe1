"""Onboarding through the Python bindings: form checks, merchant profile, fees and limits."""

import asyncio

import pytest

import starpos
from support import PASSWORD, DictStore


def test_form_checks_answer_without_raising():
    ok = starpos.check_bank_card("6222 0212 3456 7890 128")
    assert ok.valid and ok.masked == "622202*********0128"
    assert ok.issuer_bank == "中国工商银行" and ok.card_kind == starpos.CardKind.DEBIT
    bad = starpos.check_bank_card("6222021234567890129")
    assert not bad.valid and bad.reason and "6222021234567890129" not in bad.reason

    rid = starpos.check_resident_id("11010519491231002x")
    assert rid.valid and rid.birth_date == "1949-12-31" and rid.gender == starpos.Gender.FEMALE
    assert not starpos.check_resident_id("110105194912310021").valid  # wrong check character
    assert not starpos.check_resident_id("110105209912310025").valid  # born in the future

    assert starpos.check_credit_code("91350100M000100Y43").valid
    assert not starpos.check_credit_code("91350100M000100Y44").valid
    assert starpos.check_mobile("+86 138 0013 8000").valid
    assert starpos.check_holder_name("阿卜杜·热合曼").valid
    assert not starpos.check_holder_name("张3").valid


def test_profile_fees_and_limits(make_client, dev, new_phone):
    async def flow():
        c, _ = make_client("py-merchant")
        await c.account().request_sms_code(new_phone, starpos.SmsPurpose.REGISTER)
        await c.account().register(new_phone, PASSWORD, dev.sms_code(new_phone, "register"))
        with pytest.raises(starpos.StarPosError.ProfileNotLoaded):
            c.merchant().quote_fee(100, starpos.CardKind.DEBIT, None)

        profile = await c.merchant().profile()
        assert profile.registered_province == "44" and len(profile.terminal_id) == 8
        quote = c.merchant().quote_fee(1_000_000, starpos.CardKind.DEBIT, None)
        assert (quote.fee_fen, quote.net_fen) == (2_000, 998_000)

        with pytest.raises(starpos.StarPosError.LimitAboveCap) as e:
            await c.merchant().set_limits(starpos.Limits(daily_total_fen=profile.caps.daily_total_fen + 1, per_txn_fen=100, per_card_daily_count=1), PASSWORD)
        assert e.value.cap == profile.caps.daily_total_fen
        low = starpos.Limits(daily_total_fen=100_000, per_txn_fen=20_000, per_card_daily_count=2)
        assert await c.merchant().set_limits(low, None) == low
        with pytest.raises(starpos.StarPosError.StepUpRequired):
            await c.merchant().set_limits(starpos.Limits(daily_total_fen=200_000, per_txn_fen=20_000, per_card_daily_count=2), None)
        remaining = c.merchant().remaining_today()
        assert remaining.daily_total_remaining_fen == 100_000 and remaining.max_next_payment_fen == 20_000

    asyncio.run(flow())


def test_real_name_and_settlement_card(make_client, dev, new_phone, tmp_path):
    async def flow():
        c, _ = make_client("py-cards")
        await c.account().request_sms_code(new_phone, starpos.SmsPurpose.REGISTER)
        await c.account().register(new_phone, PASSWORD, dev.sms_code(new_phone, "register"))
        card = starpos.CardElements(card_number="6222021234567890128", holder_name="张三", id_number="11010519491231002X", reserved_phone="13900139000")
        with pytest.raises(starpos.StarPosError.RealNameRequired):
            await c.merchant().start_card_binding(card)
        profile = await c.merchant().submit_real_name(starpos.RealName(holder_name="张三", id_number="11010519491231002X", merchant_name="蟒蛇小店", credit_code=None))
        assert profile.real_name_verified and profile.holder_name_masked == "*三"
        with pytest.raises(starpos.StarPosError.CardDetailsMismatch):
            await c.merchant().start_card_binding(starpos.CardElements(card_number=card.card_number, holder_name="张三", id_number="11010519491231002X", reserved_phone="13900139009"))
        pending = await c.merchant().start_card_binding(card)
        assert pending.card_masked == "622202*********0128"
        real = dev.sms_code("13900139000", "bind_card")
        with pytest.raises(starpos.StarPosError.SmsCodeWrong) as wrong:
            await c.merchant().confirm_card_binding(pending.bind_id, "000000" if real != "000000" else "111111")
        assert wrong.value.tries_left == 2
        bound = await c.merchant().confirm_card_binding(pending.bind_id, real)
        assert bound.is_default and bound.card_kind == starpos.CardKind.DEBIT and bound.issuer_bank == "中国工商银行"
        assert [k.masked for k in c.merchant().cached_settlement_cards()] == ["622202*********0128"]

        # The journey ends with limits set: above the cap is refused, then a lower set is kept.
        profile = await c.merchant().profile()
        with pytest.raises(starpos.StarPosError.LimitAboveCap):
            await c.merchant().set_limits(starpos.Limits(daily_total_fen=profile.caps.daily_total_fen, per_txn_fen=profile.caps.per_txn_fen + 1, per_card_daily_count=1), PASSWORD)
        limits = starpos.Limits(daily_total_fen=300_000, per_txn_fen=100_000, per_card_daily_count=3)
        assert await c.merchant().set_limits(limits, None) == limits
        assert c.merchant().remaining_today().max_next_payment_fen == 100_000
        with pytest.raises(starpos.StarPosError.InvalidInput):
            await c.merchant().unbind_card(bound.card_id, "Wrong2026pw")
        assert await c.merchant().unbind_card(bound.card_id, PASSWORD) == []

        for f in tmp_path.rglob("*"):
            if f.is_file():
                blob = f.read_bytes()
                assert b"6222021234567890128" not in blob and b"11010519491231002X" not in blob

    asyncio.run(flow())
