"""QR payments through the Python bindings: the wallet of a scanned payment code, the EMVCo
merchant-presented payload read and written (its CRC checked against Python's own
CRC-16/CCITT-FALSE, binascii.crc_hqx with initial value 0xFFFF), and sales by the customer's
payment code against the sandbox wallets."""

import asyncio
import binascii
import random

import pytest

import starpos
from support import PASSWORD, Steps, ready_merchant

# The EMVCo merchant-presented mode specification's example payload (CRC A13A over UTF-8).
EMVCO_EXAMPLE = (
    "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678"
    "520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.72530315655020162"
    "33030412340603***0708A60086670902ME91320016A0112233449988770708123456786304A13A"
)


def crc(text):
    return "%04X" % binascii.crc_hqx(text.encode("utf-8"), 0xFFFF)


def test_the_wallet_of_a_scanned_payment_code():
    assert starpos.classify_payment_code("134567890123456789") == starpos.Wallet.WE_CHAT
    assert starpos.classify_payment_code("2812345678901234\n") == starpos.Wallet.ALIPAY
    assert starpos.classify_payment_code("6212345678901234567") == starpos.Wallet.UNION_PAY
    for not_a_code in ["", "https://qr.alipay.com/bax01234", "1345678901234567"]:
        with pytest.raises(starpos.StarPosError.InvalidPaymentCode):
            starpos.classify_payment_code(not_a_code)


def test_the_emvco_example_decodes_and_a_wrong_crc_is_refused():
    assert crc(EMVCO_EXAMPLE[:-4]) == "A13A", "the example's CRC, by Python's own CRC"
    qr = starpos.decode_merchant_qr(EMVCO_EXAMPLE)
    assert qr.dynamic and qr.amount_fen == 2372 and qr.currency == 156
    assert (qr.name, qr.city, qr.country) == ("BEST TRANSPORT", "BEIJING", "CN")
    assert [a.guid for a in qr.accounts] == ["D15600000000", "D15600000001"]
    assert [(o.id, o.value) for o in qr.alternate_language][1] == ("01", "最佳运输")
    with pytest.raises(starpos.StarPosError.InvalidMerchantQr):
        starpos.decode_merchant_qr(EMVCO_EXAMPLE[:-4] + "B333")
    with pytest.raises(starpos.StarPosError.InvalidMerchantQr):
        starpos.decode_merchant_qr(EMVCO_EXAMPLE[:40])


def test_an_encoded_payload_carries_a_crc_python_agrees_with():
    order = starpos.QrDataObject(id="01", value="ord_0123456789abcdef")
    payload = starpos.encode_merchant_qr(
        starpos.MerchantQrInput(
            dynamic=True,
            accounts=[starpos.QrMerchantAccount(id="26", guid="com.starpos.sandbox", value="", fields=[order])],
            category_code="5411",
            currency=156,
            amount_fen=12345,
            country="CN",
            name="星标测试店",
            city="深圳",
            additional=[starpos.QrDataObject(id="05", value="ord_0123456789abcdef")],
            alternate_language=[],
        )
    )
    assert payload.endswith(crc(payload[:-4])), payload
    assert "5905星标测试店" in payload, "the length counts characters (5), not UTF-8 bytes (15)"
    back = starpos.decode_merchant_qr(payload)
    assert back.amount == "123.45" and back.amount_fen == 12345 and back.name == "星标测试店"


def test_the_qr_png_is_a_png_of_the_asked_size():
    png = starpos.qr_png(EMVCO_EXAMPLE, 4)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    assert width % 4 == 0 and width == int.from_bytes(png[20:24], "big"), "square, whole modules"
    with pytest.raises(starpos.StarPosError.InvalidInput):
        starpos.qr_png(EMVCO_EXAMPLE, 0)


def payment_code(wallet, behaviour):
    """A payment code of `wallet`'s shape whose last two digits choose the sandbox wallet's
    behaviour (docs/qr.md), unique per call."""
    middle = "".join(random.choice("0123456789") for _ in range(8))
    return {"wechat": f"13{middle}000000", "alipay": f"28{middle}0000", "unionpay": f"62{middle}0000000"}[wallet] + behaviour


async def waiting_for_customer(steps):
    """Until the sale says the customer is confirming on their phone (10 s at most)."""
    for _ in range(200):
        if starpos.SaleStep.WAITING_FOR_CUSTOMER in steps.seen:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never waited for the customer: {steps.seen}")


def test_sales_by_the_customers_payment_code(make_client, dev, new_phone):
    async def flow():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        c = await ready_merchant(make_client, dev, new_phone, device="py-qr")
        payments = c.payments()

        sale = await c.qr().start_payment_code_sale(payment_code("wechat", "00"), 10_000, "py", Steps()).outcome()
        assert isinstance(sale.status, starpos.SaleStatus.APPROVED), sale
        assert (sale.method, sale.wallet, sale.entry_mode) == (starpos.PaymentMethod.CUSTOMER_CODE, starpos.Wallet.WE_CHAT, None)
        assert sale.wallet_txn and (sale.fee_fen, sale.net_fen) == (38, 9_962)
        text = payments.receipt_text(sale.id, starpos.ReceiptCopy.MERCHANT, False)
        assert "支付方式: 微信支付" in text and sale.wallet_txn in text
        # Refunded in part under the wallet's rules, then no more than what remains.
        refunded = await payments.refund_sale(sale.id, 4_000, PASSWORD)
        assert refunded.refunded_fen == 4_000
        with pytest.raises(starpos.StarPosError.WalletRefundRefused):
            await payments.refund_sale(sale.id, 1_000, PASSWORD)  # WeChat: a minute apart

        refused = await c.qr().start_payment_code_sale(payment_code("alipay", "03"), 500, None, Steps()).outcome()
        assert refused.status.reason == starpos.DeclineReason.INSUFFICIENT_FUNDS

        # The customer confirms on their phone: the app hears it, and the core keeps asking.
        steps = Steps()
        handle = c.qr().start_payment_code_sale(payment_code("alipay", "01"), 900, None, steps)
        await waiting_for_customer(steps)
        dev.advance_clock(21)
        confirmed = await handle.outcome()
        assert isinstance(confirmed.status, starpos.SaleStatus.APPROVED)

        # The other behaviours: a used code, a system error then paid, a lost answer then found.
        used = await c.qr().start_payment_code_sale(payment_code("unionpay", "04"), 300, None, Steps()).outcome()
        assert used.status.reason == starpos.DeclineReason.PAYMENT_CODE_USED
        for wallet, digits in [("alipay", "05"), ("unionpay", "06")]:
            found = await c.qr().start_payment_code_sale(payment_code(wallet, digits), 200, None, Steps()).outcome()
            assert isinstance(found.status, starpos.SaleStatus.APPROVED), (digits, found)
        # The customer cancels on their phone.
        steps = Steps()
        handle = c.qr().start_payment_code_sale(payment_code("alipay", "02"), 400, None, steps)
        await waiting_for_customer(steps)
        dev.advance_clock(21)
        assert (await handle.outcome()).status.reason == starpos.DeclineReason.CUSTOMER_CANCELLED

        with pytest.raises(starpos.StarPosError.InvalidPaymentCode):
            await c.qr().start_payment_code_sale("https://qr.alipay.com/bax01234", 100, None, Steps()).outcome()
        today = c.history().today_summary()
        by = {b.channel: b.totals.gross_fen for b in today.breakdown}
        assert by.get(starpos.Channel.WE_CHAT) == 10_000 and by.get(starpos.Channel.ALIPAY) == 1_100, by

    asyncio.run(flow())


def test_a_sale_by_the_qr_the_phone_shows(make_client, dev, new_phone):
    async def flow():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        c = await ready_merchant(make_client, dev, new_phone, device="py-qr-shown")
        shown = await c.qr().show_order(2_500, "py", None, Steps())
        order = shown.order()
        assert order.amount_fen == 2_500 and order.sale_id
        decoded = starpos.decode_merchant_qr(order.payload)
        assert decoded.dynamic and decoded.amount_fen == 2_500
        assert crc(order.payload[:-4]) == order.payload[-4:], "Python's own CRC agrees"
        png = starpos.qr_png(order.payload, 6)
        assert png.startswith(b"\x89PNG")
        assert dev.customer_scans(order.payload, "wechat")["status"] == "paid"
        sale = await shown.outcome()
        assert isinstance(sale.status, starpos.SaleStatus.APPROVED), sale
        assert (sale.method, sale.wallet) == (starpos.PaymentMethod.MERCHANT_QR, starpos.Wallet.WE_CHAT)

        # Cancelled while shown: closed, and a payment after the close is given back.
        cancelled = await c.qr().show_order(1_000, None, 120, Steps())
        assert cancelled.cancel()
        ended = await cancelled.outcome()
        assert ended.status == starpos.SaleStatus.REVERSED(reason=starpos.ReversalReason.MERCHANT_CANCELLED)
        assert dev.customer_scans(cancelled.order().payload, "alipay")["status"] == "refunded_late"
        with pytest.raises(starpos.StarPosError.InvalidInput):
            await c.qr().show_order(1_000, None, 10, Steps())

    asyncio.run(flow())
