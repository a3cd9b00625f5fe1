"""The card reader through the Python bindings: a Bluetooth link implemented in Python (here over
loopback TCP to the simulated reader), the core's framing, secure session and retries on top."""

import asyncio
import socket
import threading

import pytest

import starpos

SERIAL = "SP100-000123"


class TcpBleLink(starpos.BleLink):
    """Plays the phone's Bluetooth radio: bytes go to and come from the simulated reader."""

    def __init__(self, host, port, mtu=23):
        self.host, self.port, self.mtu = host, port, mtu
        self.sock = None
        self.writes = 0

    async def scan(self, timeout_ms):
        return [starpos.BleDevice(id=SERIAL, name="StarPOS-" + SERIAL, rssi=-55)]

    async def connect(self, device_id, events):
        if device_id != SERIAL:
            raise starpos.BleError.NotFound()
        self.sock = socket.create_connection((self.host, self.port))
        sock = self.sock

        def pump():
            while True:
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    events.disconnected("socket closed")
                    return
                events.received(data)

        threading.Thread(target=pump, daemon=True).start()
        return self.mtu

    async def write(self, data):
        assert len(data) <= self.mtu - 3, "the core never writes more than MTU - 3 bytes"
        self.writes += 1
        self.sock.sendall(bytes(data))

    async def disconnect(self):
        if self.sock:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()

    def drop(self):
        """The radio loses the link (the OS reports it through the pump thread)."""
        self.sock.shutdown(socket.SHUT_RDWR)


def test_secure_connection_info_and_a_dropped_link(sim_reader):
    host, port, identity = sim_reader

    async def flow():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        link = TcpBleLink(host, port, mtu=23)
        reader = starpos.CardReader(link)
        found = await reader.scan(1000)
        assert found[0].id == SERIAL

        with pytest.raises(starpos.ReaderError.Secure):
            await reader.connect(SERIAL, bytes(32))  # not the paired reader's identity

        info = await reader.connect(SERIAL, identity)
        assert info.serial == SERIAL and 0 <= info.battery_percent <= 100
        assert link.writes > 3, "frames were cut to the 20-byte chunks of MTU 23"
        await reader.beep()
        assert await reader.is_connected()

        link.drop()
        with pytest.raises((starpos.ReaderError.LinkLost, starpos.ReaderError.NoAck)):
            await reader.device_info()
        assert not await reader.is_connected(), "no stale 'connected' state"

        again = await reader.connect(SERIAL, identity)
        assert again.serial == SERIAL
        await reader.disconnect()

    asyncio.run(flow())
