"""Card sales through the Python bindings: a merchant with a settlement card sells on the
simulated reader (over loopback TCP) against the sandbox platform; an answer lost after the
platform committed costs nothing twice; a platform that cannot answer leads to a reversal."""

import asyncio
import threading

import pytest

import starpos
from test_reader import SERIAL, TcpBleLink

PASSWORD = "Py2026test"


class Steps(starpos.SaleListener):
    def __init__(self):
        self.lock = threading.Lock()
        self.seen = []

    def on_step(self, step):
        with self.lock:
            self.seen.append(step)


async def ready_merchant(make_client, dev, phone):
    c, _ = make_client("py-seller")
    await c.request_sms_code(phone, starpos.SmsPurpose.REGISTER)
    await c.register(phone, PASSWORD, dev.sms_code(phone, "register"))
    await c.merchant_profile()
    await c.submit_real_name(starpos.RealName(holder_name="张三", id_number="11010519491231002X",
                                              merchant_name="星标测试店", credit_code=None))
    pending = await c.start_card_binding(starpos.CardElements(
        card_number="6222021234567890128", holder_name="张三", id_number="11010519491231002X",
        reserved_phone="13900139000"))
    await c.confirm_card_binding(pending.bind_id, dev.sms_code("13900139000", "bind_card"))
    return c


def test_sales_with_a_lost_answer_and_a_reversal(make_client, dev, new_phone, sim_reader):
    async def flow():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        c = await ready_merchant(make_client, dev, new_phone)
        reader = starpos.CardReader(TcpBleLink(sim_reader["host"], sim_reader["port"], mtu=185))
        await reader.connect(SERIAL, sim_reader["identity"])
        before = c.remaining_today().daily_total_remaining_fen
        try:
            steps = Steps()
            sale = await c.start_sale(reader, 12_345, "py", steps)
            assert isinstance(sale.status, starpos.SaleStatus.APPROVED), sale
            assert steps.seen == [starpos.SaleStep.WAITING_FOR_CARD, starpos.SaleStep.WAITING_FOR_PIN,
                                  starpos.SaleStep.AUTHORIZING, starpos.SaleStep.COMPLETING_ON_CARD]
            assert sale.masked_pan == "621700*********0015" and sale.fee_fen == 62 and sale.net_fen == 12_283
            assert dev.payment(sale.id)["status"] == "approved"
            text = c.receipt_text(sale.id, False)
            assert "签购单" in text and "621700*********0015 (I)" in text and "RMB 123.45" in text
            printer = c.receipt_escpos(sale.id, True)
            assert printer.startswith(b"\x1b@") and printer.endswith(b"\x1dV\x00")
            assert "重打印".encode("gb18030") in printer

            # The platform commits, then the answer is lost: the retry under the same key gets
            # the same payment, not a second charge.
            dev.set_faults(drop_response_after_commit=1)
            again = await c.start_sale(reader, 500, None, Steps())
            assert isinstance(again.status, starpos.SaleStatus.APPROVED)
            assert int(again.voucher_number) == int(sale.voucher_number) + 1

            # The platform never answers: the sale is reversed, never re-sent under a new key.
            dev.set_faults(drop_response_after_commit=100)
            lost = await c.start_sale(reader, 700, None, Steps())
            assert lost.status == starpos.SaleStatus.REVERSED(reason="no_answer")
            assert dev.payment(lost.id)["status"] == "reversed"
            dev.set_faults()

            with pytest.raises(starpos.StarPosError.InvalidInput):
                await c.start_sale(reader, 0, None, Steps())
            voided = await c.void_sale(again.id, PASSWORD)
            assert voided.status == starpos.SaleStatus.VOIDED() and dev.payment(again.id)["status"] == "voided"
            with pytest.raises(starpos.StarPosError.RefundNotAllowed):
                await c.refund_sale(sale.id, 100, PASSWORD)
            assert [s.id for s in c.recent_sales(10)] == [lost.id, again.id, sale.id]
            assert c.remaining_today().daily_total_remaining_fen == before - 12_345, "the void gave 5.00 back"
        finally:
            dev.set_faults()
            await reader.disconnect()

    asyncio.run(flow())


class Here(starpos.LocationProvider):
    """Changsha, Hunan, as the phone's GPS would report it."""

    def current_location(self):
        return starpos.Location(latitude=28.228209, longitude=112.938814, accuracy_m=20.0)


class CancelAt(starpos.SaleListener):
    """Presses "cancel" when the sale reaches `at`."""

    def __init__(self, client, at):
        self.client, self.at, self.answer = client, at, None

    def on_step(self, step):
        if step == self.at and self.answer is None:
            self.answer = self.client.cancel_sale()


def test_signature_location_and_cancel(make_client, dev, new_phone, sim_reader):
    async def flow():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        c = await ready_merchant(make_client, dev, new_phone)
        # A merchant registered in Hunan, selling in Changsha (test_cross_province.py has the
        # Guangdong merchant who must apply first).
        dev.cross_province(new_phone, registered_province="43")
        reader = starpos.CardReader(TcpBleLink(sim_reader["host"], sim_reader["port"], mtu=185))
        await reader.connect(SERIAL, sim_reader["identity"])
        try:
            c.set_location_provider(Here())
            sale = await c.start_sale(reader, 3_000, None, Steps())
            assert sale.location == starpos.Location(latitude=28.228209, longitude=112.938814, accuracy_m=20.0)
            assert sale.signature == starpos.SignatureState.NOT_SIGNED

            points = [starpos.SignaturePoint(x=10 + 3 * i, y=100 + (i % 40), t_ms=8 * i) for i in range(200)]
            drawn = starpos.Signature(width=800, height=300, strokes=[starpos.SignatureStroke(points=points)])
            c.sign_sale(sale.id, drawn)
            png = c.receipt(sale.id, False).signature_png
            assert png.startswith(b"\x89PNG\r\n\x1a\n") and png == c.signature_png(sale.id)
            assert "[电子签名 E-SIGNED]" in c.receipt_text(sale.id, False)
            for _ in range(100):
                if c.sale(sale.id).signature == starpos.SignatureState.UPLOADED:
                    break
                await asyncio.sleep(0.05)
            on_platform = dev.payment(sale.id)
            assert c.sale(sale.id).signature == starpos.SignatureState.UPLOADED
            assert 0 < on_platform["signature_bytes"] < len(png)
            assert on_platform["location"] == {"latitude_e6": 28_228_209, "longitude_e6": 112_938_814, "accuracy_m": 20}
            with pytest.raises(starpos.StarPosError.InvalidInput):
                c.sign_sale(sale.id, drawn)

            assert c.cancel_sale() is False, "nothing to cancel"
            before = c.remaining_today().daily_total_remaining_fen
            for at in (starpos.SaleStep.WAITING_FOR_CARD, starpos.SaleStep.WAITING_FOR_PIN):
                press = CancelAt(c, at)
                with pytest.raises(starpos.StarPosError.SaleCancelled):
                    await c.start_sale(reader, 4_000, None, press)
                assert press.answer is True
            late = CancelAt(c, starpos.SaleStep.AUTHORIZING)
            approved = await c.start_sale(reader, 4_000, None, late)
            assert late.answer is False and isinstance(approved.status, starpos.SaleStatus.APPROVED)
            assert [s.id for s in c.recent_sales(10)] == [approved.id, sale.id], "cancelled sales left nothing"
            assert c.remaining_today().daily_total_remaining_fen == before - 4_000
        finally:
            await reader.disconnect()

    asyncio.run(flow())
