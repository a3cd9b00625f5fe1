"""The card reader through the Python bindings: a Bluetooth link implemented in Python (here over
loopback TCP to the simulated reader), the core's framing, secure session and retries on top."""

import asyncio

import pytest

import starpos

from support import SERIAL, TcpBleLink



def test_secure_connection_info_and_a_dropped_link(sim_reader):
    host, port, identity = sim_reader["host"], sim_reader["port"], sim_reader["identity"]

    async def flow():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        link = TcpBleLink(host, port, mtu=23)
        reader = starpos.CardReader(link)
        found = await reader.scan(1000)
        assert found[0].id == SERIAL

        with pytest.raises(starpos.StarPosError.ReaderIdentityMismatch):
            await reader.connect(SERIAL, bytes(32))  # not the paired reader's identity

        info = await reader.connect(SERIAL, identity)
        assert info.serial == SERIAL and 0 <= info.battery_percent <= 100
        assert link.writes > 3, "frames were cut to the 20-byte chunks of MTU 23"
        await reader.beep()
        assert await reader.is_connected()

        link.drop()
        with pytest.raises(starpos.StarPosError.LinkLost):
            await reader.device_info()
        assert not await reader.is_connected(), "no stale 'connected' state"

        again = await reader.connect(SERIAL, identity)
        assert again.serial == SERIAL
        await reader.disconnect()

    asyncio.run(flow())


class Progress(starpos.FirmwareProgressListener):
    def __init__(self, on_step=None):
        self.steps = []
        self.on_step = on_step

    def on_progress(self, sent, total, resumed_from):
        self.steps.append((sent, total, resumed_from))
        if self.on_step:
            self.on_step(sent, total)


def test_firmware_update_resumes_after_the_link_drops(sim_reader):
    async def flow():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        link = TcpBleLink(sim_reader["host"], sim_reader["port"], mtu=185)
        reader = starpos.CardReader(link)
        await reader.connect(SERIAL, sim_reader["identity"])
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

        await reader.connect(SERIAL, sim_reader["identity"])
        second = Progress()
        await reader.update_firmware(package, sim_reader["firmware_key"], second)
        sent, total, resumed_from = second.steps[0]
        assert resumed_from > 0 and resumed_from >= reached - 2048, "resumed where the reader stopped"
        assert second.steps[-1][0] == second.steps[-1][1] == total
        assert (await reader.device_info()).firmware == "2.0.0"
        await reader.disconnect()

    asyncio.run(flow())
