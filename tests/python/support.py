"""What the Python binding tests share: the app's secure storage played by a dict, the sandbox's
development endpoints, a Bluetooth link over loopback TCP to the simulated reader, a step
recorder, and a merchant ready to sell. (The pytest fixtures are in conftest.py.)"""

import json
import os
import pathlib
import socket
import sys
import threading
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, os.environ.get("STARPOS_PY_BINDINGS", str(ROOT / "target" / "bindings" / "python")))

import starpos  # noqa: E402  (the generated module, found through the path above)

import starpos  # noqa: E402  (the generated module, found through the path above)

SERIAL = "SP100-000123"
PASSWORD = "Py2026test"


class DictStore(starpos.SecureStore):
    """The app's secure storage, played by a dict: nothing reaches the disk."""

    def __init__(self):
        self.values = {}

    def get(self, key):
        return self.values.get(key)

    def put(self, key, value):
        self.values[key] = bytes(value)

    def delete(self, key):
        self.values.pop(key, None)


class Dev:
    """The sandbox's development endpoints: read SMS codes, expire tokens, read counters."""

    def __init__(self, base):
        self.base = base.rstrip("/")

    def _call(self, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def sms_code(self, phone, purpose):
        return self._call(f"/dev/sms?phone={phone}&purpose={purpose}")["code"]

    def expire_access(self, phone):
        return self._call("/dev/sessions/expire-access", {"phone": phone})

    def stats(self, phone):
        return self._call(f"/dev/stats?phone={phone}")

    def set_faults(self, **faults):
        """Payment fault knobs: drop_response_after_commit, fail_5xx, delay_ms (others reset)."""
        return self._call("/dev/faults", faults)

    def payment(self, key):
        return self._call(f"/dev/payments/{key}")

    def customer_scans(self, payload, wallet):
        """The customer's wallet scans a QR the phone shows and pays it (late: given back)."""
        return self._call("/dev/qr/scan", {"payload": payload, "wallet": wallet})

    def take_reader_back(self, serial=SERIAL):
        """The shop takes the shared simulated reader back from whichever merchant had it."""
        return self._call("/dev/readers/take-back", {"serial": serial})

    def advance_clock(self, secs):
        """Moves the platform's clock forward (review times, lifetimes) without sleeping."""
        return self._call("/dev/clock/advance", {"secs": secs})

    def ready_merchant(self, phone, password, device_id):
        """A merchant ready to sell: registered with `device_id` bound, real-name details accepted,
        the registry's test card bound for settlement."""
        return self._call("/dev/merchants/ready", {"phone": phone, "password": password, "device_id": device_id})

    def cross_province(self, phone, **settings):
        """Cross-province settings of a merchant: location_policy, next_approve and next_reason,
        review_secs, registered_province."""
        return self._call("/dev/cross-province", {"phone": phone, **settings})

    def other_device_sale(self, phone, amount_fen):
        """An approved sale the merchant made on another device (reaches a phone by sync)."""
        return self._call("/dev/transactions", {"phone": phone, "amount_fen": amount_fen})


async def connect_reader(client, reader, dev, scan_ms=500):
    """Pairs the shared simulated reader for the client's merchant (the platform certifies this
    phone on it) and connects the way the app does: the core finds the reader's pinned key and
    this phone's certificate itself."""
    dev.take_reader_back(SERIAL)
    await client.readers().pair(SERIAL)
    return await client.readers().connect(reader, SERIAL, scan_ms)


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
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already down


class Steps(starpos.SaleListener):
    def __init__(self):
        self.lock = threading.Lock()
        self.seen = []

    def on_step(self, step):
        with self.lock:
            self.seen.append(step)


async def ready_merchant(make_client, dev, phone, device="py-seller"):
    """A client for `device`, logged in as a new merchant with `phone`, ready to sell."""
    c, _ = make_client(device)
    dev.ready_merchant(phone, PASSWORD, device)
    await c.account().login(phone, PASSWORD, None)
    await c.merchant().profile()
    await c.merchant().settlement_cards()
    return c
