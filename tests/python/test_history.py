"""Transaction history through the Python bindings: sales made on the simulated reader show up
in the ledger, page by cursor, add up in today's statistics, export as CSV for Excel, and the
ledger's hash chain checks out."""

import asyncio
import threading

import pytest

import starpos
from support import PASSWORD, SERIAL, Steps, TcpBleLink, ready_merchant, connect_reader


class Pages(starpos.SyncListener):
    def __init__(self):
        self.pages = 0

    def on_page(self, added, seen):
        self.pages += 1


class Progress(starpos.ExportListener):
    def __init__(self):
        self.lock = threading.Lock()
        self.seen = []

    def on_progress(self, done, total):
        with self.lock:
            self.seen.append((done, total))


def test_history_pages_statistics_and_export(make_client, dev, new_phone, sim_reader, tmp_path):
    async def flow():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        c = await ready_merchant(make_client, dev, new_phone)
        reader = starpos.CardReader(TcpBleLink(sim_reader["host"], sim_reader["port"], mtu=185))
        await connect_reader(c, reader, dev)
        try:
            sales = [await c.payments().start_sale(reader, amount, None, Steps()).outcome() for amount in (1_000, 2_000, 3_000, 4_000)]
            await c.payments().void_sale(sales[1].id, PASSWORD)
        finally:
            await reader.disconnect()

        ids, cursor = [], None
        while True:
            page = c.history().transactions(starpos.HistoryFilter(), cursor, 2)
            ids += [t.id for t in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert ids[1:] == [s.id for s in reversed(sales)], "the void first, then the sales newest first"
        void = c.history().transaction(ids[0])
        assert void.kind == starpos.TransactionKind.VOID and void.parent == sales[1].id

        only_sales = c.history().transactions(starpos.HistoryFilter(kinds=[starpos.TransactionKind.SALE], min_amount_fen=2_500), None, 50)
        assert [t.amount_fen for t in only_sales.items] == [4_000, 3_000]
        with pytest.raises(starpos.StarPosError.InvalidInput):
            c.history().transactions(starpos.HistoryFilter(last4="12"), None, 50)

        today = c.history().today_summary()
        assert (today.totals.sales, today.totals.gross_fen, today.totals.refunds, today.totals.refunded_fen) == (4, 10_000, 1, 2_000)
        assert today.totals.net_fen == 10_000 - 2_000 - today.totals.fee_fen

        path = tmp_path / "账单.csv"
        progress = Progress()
        summary = await c.history().export_transactions(starpos.HistoryFilter(), str(path), progress).outcome()
        assert summary.rows == 5 and progress.seen[-1] == (5, 5)
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        lines = raw.decode("utf-8-sig").split("\r\n")
        assert lines[0].startswith("交易时间,业务日期,类型,状态,渠道")
        assert "撤销" in lines[1] and "20.00" in lines[1]

        check = c.history().verify_journal()
        assert check.entries == 5 and check.problem is None

        # A sale made on another device: reconciliation sees it missing, sync brings it.
        other = dev.other_device_sale(new_phone, 6_600)
        day = today.from_day
        report = await c.history().reconcile(day, day)
        missing = [m for m in report.mismatches if m.kind == starpos.MismatchKind.MISSING_ON_PHONE]
        assert [m.transaction_id for m in missing] == [other["idempotency_key"]]
        pages = Pages()
        synced = await c.history().sync(pages).outcome()
        assert synced.added == 1 and pages.pages >= 1
        assert c.history().transaction(other["idempotency_key"]).synced
        assert (await c.history().reconcile(day, day)).mismatches == []
        # The sync anchored the ledger's head on the platform (and in the secure store).
        assert synced.anchored_entries == 6 and synced.journal_problem is None
        assert c.history().verify_journal().problem is None

    asyncio.run(flow())
