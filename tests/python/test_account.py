"""Account login end to end through the Python bindings against a real sandbox process."""

import asyncio
import pathlib
import time

import pytest

import starpos
from support import PASSWORD, DictStore


async def register(client, dev, phone):
    await client.account().request_sms_code(phone, starpos.SmsPurpose.REGISTER)
    return await client.account().register(phone, PASSWORD, dev.sms_code(phone, "register"))


def test_register_new_device_refresh_logout(make_client, dev, new_phone, tmp_path):
    async def flow():
        a, _ = make_client("py-phone-a")
        session = await register(a, dev, new_phone)
        assert len(session.merchant_id) == 15 and session.merchant_id.isdigit()
        assert session.phone_masked == new_phone[:3] + "****" + new_phone[7:]

        b, store_b = make_client("py-phone-b")
        with pytest.raises(starpos.StarPosError.DeviceVerificationRequired):
            await b.account().login(new_phone, PASSWORD, None)
        sent = await b.account().request_sms_code(new_phone, starpos.SmsPurpose.LOGIN)
        assert sent.expires_in_secs == 300
        code = dev.sms_code(new_phone, "login")
        await b.account().login(new_phone, PASSWORD, code)
        assert b.current_session().device_id == "py-phone-b"

        # An expired access token is refreshed once, however many calls race on it.
        dev.expire_access(new_phone)
        profiles = await asyncio.gather(*[b.account().profile() for _ in range(8)])
        assert {p.merchant_id for p in profiles} == {session.merchant_id}
        assert profiles[0].device_count == 2
        assert dev.stats(new_phone)["refreshes"] == 1

        secrets = list(store_b.values.values())
        assert secrets, "the session is kept in the app's secure store"
        await b.account().logout()
        assert b.current_session() is None
        assert store_b.values == {}
        with pytest.raises(starpos.StarPosError.NotLoggedIn):
            await b.account().profile()

        # Nothing secret reached the data folder: no token, password or SMS code.
        blobs = [p.read_bytes() for p in pathlib.Path(tmp_path).rglob("*") if p.is_file()]
        assert blobs, "the clients wrote their databases"
        needles = [PASSWORD.encode(), code.encode()] + [s for s in secrets]
        for blob in blobs:
            for needle in needles:
                assert needle not in blob

    asyncio.run(flow())


def test_five_wrong_passwords_lock_the_account(make_client, dev, new_phone):
    async def flow():
        a, _ = make_client("py-lock")
        await register(a, dev, new_phone)
        await a.account().logout()
        for left in (4, 3, 2, 1):
            with pytest.raises(starpos.StarPosError.WrongPassword) as wrong:
                await a.account().login(new_phone, "Wrong2026pw", None)
            assert wrong.value.tries_left == left
        with pytest.raises(starpos.StarPosError.AccountLocked) as locked:
            await a.account().login(new_phone, "Wrong2026pw", None)
        assert locked.value.retry_after_secs == 300
        assert locked.value.locked_until_unix >= int(time.time()) + 290
        # While locked, even the right password is refused.
        with pytest.raises(starpos.StarPosError.AccountLocked):
            await a.account().login(new_phone, PASSWORD, None)

    asyncio.run(flow())


def test_sms_code_wrong_then_invalidated(make_client, dev, new_phone):
    async def flow():
        a, _ = make_client("py-sms")
        await a.account().request_sms_code(new_phone, starpos.SmsPurpose.REGISTER)
        real = dev.sms_code(new_phone, "register")
        wrong = "000000" if real != "000000" else "111111"
        for left in (2, 1):
            with pytest.raises(starpos.StarPosError.SmsCodeWrong) as e:
                await a.account().register(new_phone, PASSWORD, wrong)
            assert e.value.tries_left == left
        with pytest.raises(starpos.StarPosError.SmsCodeExpired):
            await a.account().register(new_phone, PASSWORD, wrong)
        # The third wrong try used the code up: even the right one no longer works.
        with pytest.raises(starpos.StarPosError.SmsCodeExpired):
            await a.account().register(new_phone, PASSWORD, real)

    asyncio.run(flow())


def test_bad_input_is_typed_and_names_the_field(make_client, new_phone):
    async def flow():
        a, _ = make_client("py-input")
        with pytest.raises(starpos.StarPosError.InvalidInput) as e:
            await a.account().request_sms_code("12345", starpos.SmsPurpose.REGISTER)
        assert e.value.field == "phone"
        with pytest.raises(starpos.StarPosError.InvalidInput) as e:
            await a.account().register(new_phone, "short", "123456")
        assert e.value.field == "password"

    asyncio.run(flow())


def test_plain_http_to_a_remote_host_is_refused(tmp_path):
    config = starpos.StarPosConfig(platform_url="http://pay.example.com/", data_dir=str(tmp_path), device_id="d")
    with pytest.raises(starpos.StarPosError.InvalidInput) as e:
        starpos.StarPos(config, DictStore())
    assert e.value.field == "platform_url"
