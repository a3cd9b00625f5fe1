"""Shared fixtures for the Python binding tests.

The tests call the compiled StarPOS library through its generated Python module against a real
sandbox platform process. `cargo xtask test` starts that sandbox and passes its address in
STARPOS_SANDBOX_URL; run alone, this file starts `target/debug/starpos sandbox serve` itself.
"""

import os
import pathlib
import random
import subprocess

import pytest

from support import ROOT, DictStore, Dev, starpos


@pytest.fixture(scope="session")
def sandbox_url():
    url = os.environ.get("STARPOS_SANDBOX_URL")
    if url:
        yield url
        return
    binary = ROOT / "target" / "debug" / "starpos"
    proc = subprocess.Popen([str(binary), "sandbox", "serve", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def dev(sandbox_url):
    return Dev(sandbox_url)


@pytest.fixture
def new_phone():
    return "137" + "".join(random.choice("0123456789") for _ in range(8))


@pytest.fixture
def make_client(sandbox_url, tmp_path):
    """Builds a StarPos for a named device, each with its own data folder and secure store."""

    def make(device_id, store=None):
        store = store or DictStore()
        config = starpos.StarPosConfig(platform_url=sandbox_url, data_dir=str(tmp_path / device_id), device_id=device_id)
        return starpos.StarPos(config, store), store

    return make


@pytest.fixture(scope="session")
def sim_reader(tmp_path_factory):
    """A simulated reader on loopback TCP, playing the device at the other end of the phone's
    Bluetooth link: host, port, its identity key, the platform firmware key it trusts, and a
    signed firmware package it accepts."""
    env = os.environ
    proc = None
    if env.get("STARPOS_READER_ADDR"):
        addr, identity = env["STARPOS_READER_ADDR"], env["STARPOS_READER_IDENTITY"]
        firmware_key, firmware = env["STARPOS_READER_FIRMWARE_KEY"], env["STARPOS_READER_FIRMWARE"]
    else:
        firmware = str(tmp_path_factory.mktemp("reader") / "firmware.spfw")
        binary = ROOT / "target" / "debug" / "starpos"
        proc = subprocess.Popen([str(binary), "sandbox", "reader", "--firmware-out", firmware], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        addr = proc.stdout.readline().strip()
        identity = proc.stdout.readline().strip().split("=", 1)[1]
        firmware_key = proc.stdout.readline().strip().split("=", 1)[1]
    host, port = addr.removeprefix("tcp://").rsplit(":", 1)
    try:
        yield {
            "host": host,
            "port": int(port),
            "identity": bytes.fromhex(identity),
            "firmware_key": bytes.fromhex(firmware_key),
            "firmware": pathlib.Path(firmware).read_bytes(),
        }
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.fixture(autouse=True)
def fresh_event_loop_for_callbacks():
    """Tests that take callbacks from core threads point the bindings at their event loop;
    forget it afterwards so the next test's `asyncio.run` loop is used."""
    yield
    starpos.uniffi_set_event_loop(None)
