"""Pairing and card reading through the Python bindings: the sandbox platform certifies the
simulated reader's identity, the core connects by serial with the pinned key, reads a card
(masked number only), reports prompts, battery and state to a listener, and reconnects on its
own after the link drops."""

import asyncio
import threading
import time

import pytest

import starpos
from support import PASSWORD, SERIAL, TcpBleLink


class Events(starpos.ReaderListener):
    def __init__(self):
        self.lock = threading.Lock()
        self.seen = []

    def on_event(self, event):
        with self.lock:
            self.seen.append(event)

    def states(self):
        with self.lock:
            return [e.state for e in self.seen if isinstance(e, starpos.ReaderEvent.STATE_CHANGED)]

    def prompts(self):
        with self.lock:
            return [e.prompt for e in self.seen if isinstance(e, starpos.ReaderEvent.PROMPT)]


def ready_again_after_reconnecting(states):
    """A RECONNECTING state, later followed by READY (judged from one snapshot of the history)."""
    first = next((i for i, s in enumerate(states) if isinstance(s, starpos.ReaderState.RECONNECTING)), None)
    return first is not None and any(isinstance(s, starpos.ReaderState.READY) for s in states[first:])


async def wait_until(predicate, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def test_pair_read_a_card_and_reconnect(make_client, dev, new_phone, sim_reader):
    async def flow():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        c, _ = make_client("py-reader")
        await c.account().request_sms_code(new_phone, starpos.SmsPurpose.REGISTER)
        await c.account().register(new_phone, PASSWORD, dev.sms_code(new_phone, "register"))

        with pytest.raises(starpos.StarPosError.ReaderNotRecognised):
            await c.readers().pair("XX000-000000")
        dev.take_reader_back(SERIAL)
        paired = await c.readers().pair(SERIAL)
        try:
            assert paired.identity_public == sim_reader["identity"], "the platform certifies the factory key"
            assert [r.serial for r in c.readers().paired()] == [SERIAL]

            link = TcpBleLink(sim_reader["host"], sim_reader["port"], mtu=23)
            reader = starpos.CardReader(link)
            events = Events()
            reader.set_listener(events)
            with pytest.raises(starpos.StarPosError.ReaderNotPaired):
                await c.readers().connect(reader, "SP100-000999", 100)
            info = await c.readers().connect(reader, SERIAL, 500)
            assert info.serial == SERIAL
            assert isinstance(reader.state(), starpos.ReaderState.READY)
            assert any(isinstance(e, starpos.ReaderEvent.BATTERY) for e in events.seen)

            card = await reader.read_card(12345, [starpos.EntryMode.INSERT, starpos.EntryMode.TAP], 30)
            assert card.entry_mode == starpos.EntryMode.INSERT
            assert card.masked_pan == "621700*********0015" and card.amount_fen == 12345
            assert card.pin_required and card.aid == "A000000333010101" and card.field55_len > 0
            assert events.prompts()[:2] == [starpos.ReaderPrompt.PRESENT_CARD, starpos.ReaderPrompt.READING_CARD]

            with pytest.raises(starpos.StarPosError.InvalidInput):
                await reader.read_card(0, [starpos.EntryMode.INSERT], 30)
            with pytest.raises(starpos.StarPosError.CardUnreadable):
                await reader.read_card(100, [starpos.EntryMode.SWIPE], 30)

            # The radio drops: the core notices, reconnects by itself and says so.
            link.drop()
            await wait_until(lambda: ready_again_after_reconnecting(events.states()))
            assert await reader.is_connected()
            again = await reader.read_card(500, [starpos.EntryMode.INSERT], 30)
            assert again.amount_fen == 500
            await reader.disconnect()
            assert isinstance(reader.state(), starpos.ReaderState.DISCONNECTED)
        finally:
            await c.readers().release(SERIAL)
        assert c.readers().paired() == []

    asyncio.run(flow())
