"""Cross-province rules through the Python bindings: where the phone is (offline), a
Guangdong merchant refused in Hunan, the application and its review, the sale once approved,
the location policy, and the data meter."""

import asyncio

import pytest

import starpos
from support import SERIAL, Steps, TcpBleLink, ready_merchant, connect_reader


class Gps(starpos.LocationProvider):
    def __init__(self, where=None):
        self.where = where

    def current_location(self):
        return self.where


CHANGSHA = starpos.Location(latitude=28.228209, longitude=112.938814, accuracy_m=15.0)
SEOUL = starpos.Location(latitude=37.5665, longitude=126.978, accuracy_m=15.0)


def test_province_at_offline():
    gz = starpos.province_at(23.129163, 113.264435)
    assert (gz.code, gz.name, gz.name_en) == ("44", "广东省", "Guangdong")
    assert starpos.province_at(22.193, 113.540).code == "82", "Macao, not Guangdong"
    assert starpos.province_at(16.834, 112.338).code == "46", "Yongxing Island, Sansha"
    assert starpos.province_at(39.955, 116.815).code == "13", "Yanjiao is Hebei"
    assert starpos.province_at(37.5665, 126.978) is None, "Seoul"
    assert starpos.province_at(float("nan"), 0.0) is None


def test_refused_in_hunan_until_approved(make_client, dev, new_phone, sim_reader):
    async def flow():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        c = await ready_merchant(make_client, dev, new_phone)
        c.network().set_network_type(starpos.NetworkType.MOBILE)
        gps = Gps(CHANGSHA)
        c.set_location_provider(gps)
        reader = starpos.CardReader(TcpBleLink(sim_reader["host"], sim_reader["port"], mtu=185))
        await connect_reader(c, reader, dev)
        try:
            assert c.regions().current_province().code == "43"
            with pytest.raises(starpos.StarPosError.CrossProvinceNotApproved) as refused:
                await c.payments().start_sale(reader, 2_500, None, Steps()).outcome()
            assert (refused.value.here.code, refused.value.registered.code) == ("43", "44")
            assert (refused.value.here.name, refused.value.registered.name_en) == ("湖南省", "Guangdong")

            # The review takes a minute of platform time; the test moves that clock instead of
            # sleeping (a one-second review raced the second boundary and could pass too soon).
            dev.cross_province(new_phone, review_secs=60)
            filed = await c.regions().apply_cross_province("43", "长沙展销会", 7)
            assert filed.status == starpos.ApplicationStatus.PENDING and filed.province.name == "湖南省"
            with pytest.raises(starpos.StarPosError.CrossProvinceNotApproved):
                await c.payments().start_sale(reader, 2_500, None, Steps()).outcome()
            dev.advance_clock(61)
            status = await c.regions().refresh_cross_province()
            assert status.registered.code == "44"
            assert status.applications[0].status == starpos.ApplicationStatus.APPROVED

            sale = await c.payments().start_sale(reader, 2_500, None, Steps()).outcome()
            assert isinstance(sale.status, starpos.SaleStatus.APPROVED) and sale.province == "43"
            assert dev.payment(sale.id)["province"] == "43"

            # A rejection carries the reviewer's reason.
            dev.cross_province(new_phone, next_approve=False, next_reason="经营范围不符", review_secs=0)
            rejected = await c.regions().apply_cross_province("45", "南宁批发市场", 3)
            assert rejected.status == starpos.ApplicationStatus.REJECTED
            assert rejected.decision_reason == "经营范围不符"

            # Location policy "refuse": no fix, or abroad, and the sale is refused.
            dev.cross_province(new_phone, location_policy="refuse")
            await c.regions().refresh_cross_province()
            for where in (None, SEOUL):
                gps.where = where
                with pytest.raises(starpos.StarPosError.LocationRequired):
                    await c.payments().start_sale(reader, 2_500, None, Steps()).outcome()

            used = c.network().data_usage_month(None)
            kinds = {k.kind for k in used.kinds}
            assert used.mobile.bytes_up > 0 and used.mobile.bytes_down > 0 and used.wifi.requests == 0
            assert {"payments/authorize", "merchant/cross-province"} <= kinds, kinds
        finally:
            await reader.disconnect()

    asyncio.run(flow())


def test_offline_queue_and_link_status(make_client, dev, new_phone, sim_reader):
    async def flow():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        c = await ready_merchant(make_client, dev, new_phone)
        reader = starpos.CardReader(TcpBleLink(sim_reader["host"], sim_reader["port"], mtu=185))
        await connect_reader(c, reader, dev)
        try:
            assert c.network().connection_status().reachability == starpos.Reachability.ONLINE
            c.network().set_network_type(starpos.NetworkType.OFFLINE)
            status = c.network().connection_status()
            assert (status.network, status.reachability) == (starpos.NetworkType.OFFLINE, starpos.Reachability.OFFLINE)
            with pytest.raises(starpos.StarPosError.Offline):
                await c.payments().start_sale(reader, 1_000, None, Steps()).outcome()
            queued = await c.regions().apply_cross_province("43", "长沙展销会", 5)
            assert queued.status == starpos.ApplicationStatus.QUEUED
            assert c.regions().cross_province_status().applications[0].status == starpos.ApplicationStatus.QUEUED
            assert not c.network().may_transfer_in_background()

            # Back on Wi-Fi: the queued application goes by itself.
            c.network().set_network_type(starpos.NetworkType.WIFI)
            assert c.network().may_transfer_in_background()
            for _ in range(100):
                rules = await c.regions().refresh_cross_province()
                if all(a.status != starpos.ApplicationStatus.QUEUED for a in rules.applications):
                    break
                await asyncio.sleep(0.1)
            assert [(a.province.code, a.status) for a in rules.applications] == [("43", starpos.ApplicationStatus.PENDING)]
        finally:
            await reader.disconnect()

    asyncio.run(flow())
