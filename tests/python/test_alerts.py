"""The alert feed through the Python bindings (issue #16 item 3): a listener hears the alert as
it is raised (the day's limit 80 % used after a card sale on the simulated reader; a device new
to the account after a sync), the feed lists it with what to do, and marking it read sticks."""

import asyncio
import threading

import starpos
from support import PASSWORD, Steps, TcpBleLink, connect_reader, ready_merchant


class Heard(starpos.AlertListener):
    def __init__(self):
        self.lock = threading.Lock()
        self.alerts = []

    def on_alert(self, alert):
        with self.lock:
            self.alerts.append(alert)


class Pages(starpos.SyncListener):
    def on_page(self, added, seen):
        pass


def test_alerts_are_heard_listed_and_read(make_client, dev, new_phone, sim_reader):
    async def flow():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        c = await ready_merchant(make_client, dev, new_phone, device="py-alerts")
        heard = Heard()
        c.alerts().set_listener(heard)
        limits = (await c.merchant().profile()).limits
        await c.merchant().set_limits(starpos.Limits(daily_total_fen=10_000, per_txn_fen=limits.per_txn_fen,
                                                     per_card_daily_count=limits.per_card_daily_count), None)
        reader = starpos.CardReader(TcpBleLink(sim_reader["host"], sim_reader["port"], mtu=185))
        await connect_reader(c, reader, dev)
        try:
            await c.payments().start_sale(reader, 8_500, None, Steps()).outcome()
        finally:
            await reader.disconnect()
        assert [a.kind for a in heard.alerts] == [starpos.AlertKind.LIMIT_NEARLY_USED]
        alert = c.alerts().list(True, 10)[0]
        assert alert.severity == starpos.Severity.WARNING and "85.00 yuan" in alert.message and alert.action

        # Another phone logs in to the account: this one hears of it at its next sync.
        other, _ = make_client("py-alerts-other")
        dev.advance_clock(5)
        await other.account().request_sms_code(new_phone, starpos.SmsPurpose.LOGIN)
        await other.account().login(new_phone, PASSWORD, dev.sms_code(new_phone, "login"))
        await c.history().sync(Pages()).outcome()
        assert [a.kind for a in heard.alerts] == [starpos.AlertKind.LIMIT_NEARLY_USED, starpos.AlertKind.NEW_DEVICE]
        assert heard.alerts[1].subject == "py-alerts-other" and heard.alerts[1].severity == starpos.Severity.CRITICAL
        assert c.alerts().unread_count() == 2
        assert c.alerts().mark_read([alert.id]) == 1
        assert [a.kind for a in c.alerts().list(True, 10)] == [starpos.AlertKind.NEW_DEVICE]
        assert c.alerts().mark_all_read() == 1 and c.alerts().unread_count() == 0
        c.alerts().set_listener(None)

    asyncio.run(flow())
