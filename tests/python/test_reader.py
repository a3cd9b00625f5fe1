"""The card reader through the Python bindings: a Bluetooth link implemented in Python (here over
loopback TCP to the simulated reader), the core's framing, secure session and retries on top."""

import asyncio

import pytest

import starpos

from support import SERIAL, TcpBleLink, connect_reader, ready_merchant


def test_secure_connection_info_and_a_dropped_link(make_client, dev, new_phone, sim_reader):
    host, port = sim_reader["host"], sim_reader["port"]

    async def flow():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        c = await ready_merchant(make_client, dev, new_phone)
        link = TcpBleLink(host, port, mtu=23)
        reader = starpos.CardReader(link)
        found = await reader.scan(1000)
        assert found[0].id == SERIAL

        with pytest.raises(starpos.StarPosError.ReaderNotPaired):
            await c.readers().connect(reader, SERIAL, 500)  # not paired on this phone yet

        info = await connect_reader(c, reader, dev)
        assert info.serial == SERIAL and 0 <= info.battery_percent <= 100
        assert link.writes > 3, "frames were cut to the 20-byte chunks of MTU 23"
        await reader.beep()
        assert await reader.is_connected()

        link.drop()
        with pytest.raises(starpos.StarPosError.LinkLost):
            await reader.device_info()
        assert not await reader.is_connected(), "no stale 'connected' state"

        again = await c.readers().connect(reader, SERIAL, 500)
        assert again.serial == SERIAL
        await reader.disconnect()

    asyncio.run(flow())


def test_a_reader_passed_to_another_merchant_refuses_the_first_ones_phone(make_client, dev, sim_reader):
    """The reader accepts only phones the platform certified for it at pairing, and after it has
    passed to a new merchant, only that merchant's."""

    async def flow():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        first = await ready_merchant(make_client, dev, _phone(), device="py-first-owner")
        link = TcpBleLink(sim_reader["host"], sim_reader["port"], mtu=185)
        reader = starpos.CardReader(link)
        await connect_reader(first, reader, dev)
        await reader.disconnect()

        # The reader goes to another merchant, whose phone pairs and connects.
        second = await ready_merchant(make_client, dev, _phone(), device="py-second-owner")
        await connect_reader(second, reader, dev)
        await reader.disconnect()

        # The first merchant's phone still lists it, but the reader refuses that phone's
        # certificate; the core pairs again once, and the platform says whose it is now.
        assert [r.serial for r in first.readers().paired()] == [SERIAL]
        with pytest.raises(starpos.StarPosError.ReaderPairedElsewhere):
            await first.readers().connect(reader, SERIAL, 500)
        assert not await reader.is_connected()

    asyncio.run(flow())


def _phone():
    import random

    return "137" + "".join(random.choice("0123456789") for _ in range(8))


class Progress(starpos.FirmwareProgressListener):
    def __init__(self, on_step=None):
        self.steps = []
        self.on_step = on_step

    def on_progress(self, sent, total, resumed_from):
        self.steps.append((sent, total, resumed_from))
        if self.on_step:
            self.on_step(sent, total)


def test_firmware_update_resumes_after_the_link_drops(make_client, dev, new_phone, sim_reader):
    async def flow():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        c = await ready_merchant(make_client, dev, new_phone)
        link = TcpBleLink(sim_reader["host"], sim_reader["port"], mtu=185)
        reader = starpos.CardReader(link)
        await connect_reader(c, reader, dev)
        package = sim_reader["firmware"]

        tampered = bytearray(package)
        tampered[-1] ^= 1
        with pytest.raises(starpos.StarPosError.FirmwareUnsigned):
            await reader.update_firmware(bytes(tampered), sim_reader["firmware_key"], Progress())

        def drop_at_40_percent(sent, total):
            if sent * 100 // total >= 40:
                link.drop()

        first = Progress(drop_at_40_percent)
        with pytest.raises(starpos.StarPosError.LinkLost):
            await reader.update_firmware(package, sim_reader["firmware_key"], first)
        reached = first.steps[-1][0]

        await c.readers().connect(reader, SERIAL, 500)
        second = Progress()
        await reader.update_firmware(package, sim_reader["firmware_key"], second)
        sent, total, resumed_from = second.steps[0]
        assert resumed_from > 0 and resumed_from >= reached - 2048, "resumed where the reader stopped"
        assert second.steps[-1][0] == second.steps[-1][1] == total
        assert (await reader.device_info()).firmware == "2.0.0"
        await reader.disconnect()

    asyncio.run(flow())
