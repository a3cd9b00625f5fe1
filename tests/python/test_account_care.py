"""Account care through the Python bindings (issue #16 item 7): the bound devices listed and
one unbound with the password (its session ends, its next login needs an SMS code); a forgotten
password reset with an SMS code, which ends every session; a changed password."""

import asyncio

import pytest

import starpos
from support import PASSWORD

NEW_PASSWORD = "Reset2027py"


async def register(client, dev, phone):
    await client.account().request_sms_code(phone, starpos.SmsPurpose.REGISTER)
    return await client.account().register(phone, PASSWORD, dev.sms_code(phone, "register"))


async def login_new_device(client, dev, phone, password):
    await client.account().request_sms_code(phone, starpos.SmsPurpose.LOGIN)
    await client.account().login(phone, password, dev.sms_code(phone, "login"))


def test_devices_reset_and_change(make_client, dev, new_phone):
    async def flow():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        a, _ = make_client("py-care-a")
        await register(a, dev, new_phone)
        b, _ = make_client("py-care-b")
        await login_new_device(b, dev, new_phone, PASSWORD)

        devices = await a.account().devices()
        assert sorted((d.device_id, d.this_device) for d in devices) == [("py-care-a", True), ("py-care-b", False)]
        assert all(d.last_used_at is not None and d.last_used_at >= d.bound_at for d in devices)
        with pytest.raises(starpos.StarPosError.InvalidInput):
            await a.account().unbind_device("py-care-a", PASSWORD)
        await a.account().unbind_device("py-care-b", PASSWORD)
        with pytest.raises(starpos.StarPosError.SessionExpired):
            await b.account().profile()
        with pytest.raises(starpos.StarPosError.DeviceVerificationRequired):
            await b.account().login(new_phone, PASSWORD, None)

        # Forgotten: reset by SMS from the unbound phone, which the code binds again.
        await b.account().request_sms_code(new_phone, starpos.SmsPurpose.RESET_PASSWORD)
        await b.account().reset_password(new_phone, dev.sms_code(new_phone, "reset_password"), NEW_PASSWORD)
        assert b.current_session() is None, "every session ended, this device's too"
        with pytest.raises(starpos.StarPosError.SessionExpired):
            await a.account().profile()
        with pytest.raises(starpos.StarPosError.WrongPassword):
            await b.account().login(new_phone, PASSWORD, None)
        await b.account().login(new_phone, NEW_PASSWORD, None)

        # Changed with the old one: the other device's session ends, this one goes on.
        await a.account().login(new_phone, NEW_PASSWORD, None)
        with pytest.raises(starpos.StarPosError.InvalidInput):
            await b.account().change_password("Wrong2027py", "Other2027py")
        await b.account().change_password(NEW_PASSWORD, "Other2027py")
        await b.account().profile()
        with pytest.raises(starpos.StarPosError.SessionExpired):
            await a.account().profile()

    asyncio.run(flow())
