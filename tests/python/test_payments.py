"""Card sales through the Python bindings: a merchant with a settlement card sells on the
simulated reader (over loopback TCP) against the sandbox platform; an answer lost after the
platform committed costs nothing twice; a platform that cannot answer leads to a reversal."""

import asyncio
import threading
import time

import pytest

import starpos
from support import PASSWORD, SERIAL, Steps, TcpBleLink, ready_merchant, connect_reader

def test_sales_with_a_lost_answer_and_a_reversal(make_client, dev, new_phone, sim_reader):
    async def flow():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        c = await ready_merchant(make_client, dev, new_phone)
        reader = starpos.CardReader(TcpBleLink(sim_reader["host"], sim_reader["port"], mtu=185))
        await connect_reader(c, reader, dev)
        before = c.merchant().remaining_today().daily_total_remaining_fen
        try:
            steps = Steps()
            sale = await c.payments().start_sale(reader, 12_345, "py", steps).outcome()
            assert isinstance(sale.status, starpos.SaleStatus.APPROVED), sale
            assert steps.seen == [starpos.SaleStep.WAITING_FOR_CARD, starpos.SaleStep.WAITING_FOR_PIN,
                                  starpos.SaleStep.AUTHORIZING, starpos.SaleStep.COMPLETING_ON_CARD]
            assert sale.masked_pan == "621700*********0015" and sale.fee_fen == 62 and sale.net_fen == 12_283
            assert dev.payment(sale.id)["status"] == "approved"
            text = c.payments().receipt_text(sale.id, starpos.ReceiptCopy.MERCHANT, False)
            assert "签购单" in text and "621700*********0015 (I)" in text and "RMB 123.45" in text
            printer = c.payments().receipt_escpos(sale.id, starpos.ReceiptCopy.MERCHANT, True)
            assert printer.startswith(b"\x1b@") and printer.endswith(b"\x1dV\x00")
            assert "重打印".encode("gb18030") in printer

            # The platform commits, then the answer is lost: the retry under the same key gets
            # the same payment, not a second charge.
            dev.set_faults(drop_response_after_commit=1)
            again = await c.payments().start_sale(reader, 500, None, Steps()).outcome()
            assert isinstance(again.status, starpos.SaleStatus.APPROVED)
            assert int(again.voucher_number) == int(sale.voucher_number) + 1

            # The platform never answers: the sale is reversed, never re-sent under a new key.
            dev.set_faults(drop_response_after_commit=100)
            lost = await c.payments().start_sale(reader, 700, None, Steps()).outcome()
            assert lost.status == starpos.SaleStatus.REVERSED(reason=starpos.ReversalReason.NO_ANSWER)
            assert dev.payment(lost.id)["status"] == "reversed"
            dev.set_faults()

            with pytest.raises(starpos.StarPosError.InvalidInput):
                await c.payments().start_sale(reader, 0, None, Steps()).outcome()
            voided = await c.payments().void_sale(again.id, PASSWORD)
            assert voided.status == starpos.SaleStatus.VOIDED() and dev.payment(again.id)["status"] == "voided"
            with pytest.raises(starpos.StarPosError.RefundNotAllowed):
                await c.payments().refund_sale(sale.id, 100, PASSWORD)
            assert [s.id for s in c.payments().recent_sales(10)] == [lost.id, again.id, sale.id]
            assert c.merchant().remaining_today().daily_total_remaining_fen == before - 12_345, "the void gave 5.00 back"
        finally:
            dev.set_faults()
            await reader.disconnect()

    asyncio.run(flow())


class Here(starpos.LocationProvider):
    """Changsha, Hunan, as the phone's GPS would report it."""

    def current_location(self):
        return starpos.Location(latitude=28.228209, longitude=112.938814, accuracy_m=20.0)


class CancelAt(starpos.SaleListener):
    """Presses "cancel" on the sale's handle when the sale reaches `at`, from another thread as
    a button would (the step may come before `start_sale` has returned the handle)."""

    def __init__(self, at):
        self.at, self.handle, self.answer, self.pressed = at, None, None, None

    def on_step(self, step):
        if step == self.at and self.pressed is None:
            self.pressed = threading.Thread(target=self._press)
            self.pressed.start()

    def _press(self):
        while self.handle is None:
            time.sleep(0.001)
        self.answer = self.handle.cancel()

    def done(self):
        if self.pressed is not None:
            self.pressed.join()
        return self.answer


def test_signature_location_and_cancel(make_client, dev, new_phone, sim_reader):
    async def flow():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        c = await ready_merchant(make_client, dev, new_phone)
        # A merchant registered in Hunan, selling in Changsha (test_cross_province.py has the
        # Guangdong merchant who must apply first).
        dev.cross_province(new_phone, registered_province="43")
        reader = starpos.CardReader(TcpBleLink(sim_reader["host"], sim_reader["port"], mtu=185))
        await connect_reader(c, reader, dev)
        try:
            c.set_location_provider(Here())
            sale = await c.payments().start_sale(reader, 3_000, None, Steps()).outcome()
            assert sale.location == starpos.Location(latitude=28.228209, longitude=112.938814, accuracy_m=20.0)
            assert sale.signature == starpos.SignatureState.NOT_SIGNED

            points = [starpos.SignaturePoint(x=10 + 3 * i, y=100 + (i % 40), t_ms=8 * i) for i in range(200)]
            drawn = starpos.Signature(width=800, height=300, strokes=[starpos.SignatureStroke(points=points)])
            c.payments().sign_sale(sale.id, drawn)
            png = c.payments().receipt(sale.id, starpos.ReceiptCopy.MERCHANT, False).signature_png
            assert png.startswith(b"\x89PNG\r\n\x1a\n") and png == c.payments().signature_png(sale.id)
            assert "[电子签名 E-SIGNED]" in c.payments().receipt_text(sale.id, starpos.ReceiptCopy.MERCHANT, False)
            for _ in range(100):
                if c.payments().sale(sale.id).signature == starpos.SignatureState.UPLOADED:
                    break
                await asyncio.sleep(0.05)
            on_platform = dev.payment(sale.id)
            assert c.payments().sale(sale.id).signature == starpos.SignatureState.UPLOADED
            assert 0 < on_platform["signature_bytes"] < len(png)
            assert on_platform["location"] == {"latitude_e6": 28_228_209, "longitude_e6": 112_938_814, "accuracy_m": 20}
            with pytest.raises(starpos.StarPosError.InvalidInput):
                c.payments().sign_sale(sale.id, drawn)

            ended = c.payments().start_sale(reader, 0, None, Steps())
            with pytest.raises(starpos.StarPosError.InvalidInput):
                await ended.outcome()
            assert ended.is_finished() and ended.cancel() is False, "nothing to cancel once a sale has ended"
            before = c.merchant().remaining_today().daily_total_remaining_fen
            for at in (starpos.SaleStep.WAITING_FOR_CARD, starpos.SaleStep.WAITING_FOR_PIN):
                press = CancelAt(at)
                press.handle = c.payments().start_sale(reader, 4_000, None, press)
                with pytest.raises(starpos.StarPosError.SaleCancelled):
                    await press.handle.outcome()
                assert press.done() is True
            late = CancelAt(starpos.SaleStep.AUTHORIZING)
            late.handle = c.payments().start_sale(reader, 4_000, None, late)
            approved = await late.handle.outcome()
            assert late.done() is False and isinstance(approved.status, starpos.SaleStatus.APPROVED)
            assert [s.id for s in c.payments().recent_sales(10)] == [approved.id, sale.id], "cancelled sales left nothing"
            assert c.merchant().remaining_today().daily_total_remaining_fen == before - 4_000
        finally:
            await reader.disconnect()

    asyncio.run(flow())


class DropAt(starpos.SaleListener):
    """The Bluetooth link drops when the sale reaches `at` (the customer walks off)."""

    def __init__(self, link, at):
        self.link, self.at = link, at

    def on_step(self, step):
        if step == self.at:
            self.link.drop()


def test_chip_first_and_the_flagged_fallback(make_client, dev, new_phone, sim_reader):
    """A swiped chip card is asked for its chip; a chip that cannot be read falls back to a
    swipe, approved and flagged on the sale, the receipt and the platform."""
    async def flow():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        c = await ready_merchant(make_client, dev, new_phone)
        reader = starpos.CardReader(TcpBleLink(sim_reader["host"], sim_reader["port"], mtu=185))
        await connect_reader(c, reader, dev)
        try:
            steps = Steps()
            by_chip = await c.payments().start_sale(reader, 6_607, None, steps).outcome()
            assert isinstance(by_chip.status, starpos.SaleStatus.APPROVED), by_chip
            assert steps.seen[:2] == [starpos.SaleStep.WAITING_FOR_CARD, starpos.SaleStep.USE_CHIP]
            assert by_chip.entry_mode == starpos.EntryMode.INSERT and not by_chip.fallback

            steps = Steps()
            fallback = await c.payments().start_sale(reader, 6_606, None, steps).outcome()
            assert isinstance(fallback.status, starpos.SaleStatus.APPROVED), fallback
            assert steps.seen[:2] == [starpos.SaleStep.WAITING_FOR_CARD, starpos.SaleStep.SWIPE_FALLBACK]
            assert fallback.entry_mode == starpos.EntryMode.SWIPE and fallback.fallback
            assert dev.payment(fallback.id)["fallback"] is True
            assert "(F)" in c.payments().receipt_text(fallback.id, starpos.ReceiptCopy.MERCHANT, False)
        finally:
            await reader.disconnect()

    asyncio.run(flow())

class Told(starpos.AttentionListener):
    """What the app's attention listener heard: each list, as sale ids."""
    def __init__(self):
        self.lock = threading.Lock()
        self.lists = []

    def on_needs_attention(self, sales):
        with self.lock:
            self.lists.append([s.id for s in sales])

def test_a_sale_needing_attention_is_pushed_to_the_app(make_client, dev, new_phone, sim_reader):
    async def flow():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        c = await ready_merchant(make_client, dev, new_phone)
        reader = starpos.CardReader(TcpBleLink(sim_reader["host"], sim_reader["port"], mtu=185))
        await connect_reader(c, reader, dev)
        try:
            # The platform is down: the sale is reversed, and the reversal cannot get through.
            dev.set_faults(fail_5xx=100)
            sale = await c.payments().start_sale(reader, 7_700, None, Steps()).outcome()
            assert isinstance(sale.status, starpos.SaleStatus.REVERSAL_PENDING), sale
            told = Told()
            c.payments().set_attention_listener(told)
            assert told.lists == [[]], "told at once: nothing yet"
            dev.advance_clock(16 * 60)
            await c.merchant().profile()
            for _ in range(300):
                if len(told.lists) >= 2:
                    break
                await asyncio.sleep(0.1)
            assert told.lists[1] == [sale.id], told.lists
            dev.set_faults()
            dev.advance_clock(60)
            await c.payments().resolve_pending()
            assert told.lists[-1] == [], "told it resolved"
        finally:
            dev.set_faults()
            await reader.disconnect()

    asyncio.run(flow())

def test_each_card_and_pin_failure_is_its_own_error(make_client, dev, new_phone, sim_reader):
    async def flow():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        c = await ready_merchant(make_client, dev, new_phone)
        link = TcpBleLink(sim_reader["host"], sim_reader["port"], mtu=185)
        reader = starpos.CardReader(link)
        await connect_reader(c, reader, dev)
        before = c.merchant().remaining_today().daily_total_remaining_fen
        try:
            # The simulated customer misbehaves at these amounts (docs/test-cards.md).
            for amount, error in ((6_601, starpos.StarPosError.NoCard), (6_602, starpos.StarPosError.CardUnreadable),
                                  (6_603, starpos.StarPosError.CardRemoved), (6_604, starpos.StarPosError.PinTimeout),
                                  (6_605, starpos.StarPosError.PinCancelled)):
                with pytest.raises(error):
                    await c.payments().start_sale(reader, amount, None, Steps()).outcome()
            with pytest.raises(starpos.StarPosError.LinkLost):
                await c.payments().start_sale(reader, 1_000, None, DropAt(link, starpos.SaleStep.WAITING_FOR_PIN)).outcome()
            assert c.payments().recent_sales(10) == [], "nothing journalled"
            assert c.merchant().remaining_today().daily_total_remaining_fen == before, "no limit held"
        finally:
            await reader.disconnect()

    asyncio.run(flow())
