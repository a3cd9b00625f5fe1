"""The e-receipt page in a real browser (issue #16 item 5): a card sale made through the Python
bindings on the simulated reader, signed; the receipt's QR link opened in headless Chromium at a
phone's size. The page renders the customer's copy with the sale's amount and no merchant fee,
fits the phone's width, loads the signature image, follows a void, and another token gets the
not-found page. A screenshot is kept in target/artefacts/e-receipt.png."""

import asyncio
import struct

import starpos
from browser import Browser
from support import PASSWORD, ROOT, Steps, TcpBleLink, connect_reader, ready_merchant

SHOT = ROOT / "target" / "artefacts" / "e-receipt.png"


def text(b, selector):
    return b.eval(f"document.querySelector({selector!r})?.textContent ?? null")


def test_the_receipt_page_renders_in_a_browser(make_client, dev, new_phone, sim_reader):
    async def sale_with_signature():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        c = await ready_merchant(make_client, dev, new_phone, device="py-e-receipt")
        reader = starpos.CardReader(TcpBleLink(sim_reader["host"], sim_reader["port"], mtu=185))
        await connect_reader(c, reader, dev)
        try:
            sale = await c.payments().start_sale(reader, 8_866, None, Steps()).outcome()
        finally:
            await reader.disconnect()
        points = [starpos.SignaturePoint(x=20 + 4 * i, y=150 + (i % 30) * 3, t_ms=10 * i) for i in range(150)]
        drawn = starpos.Signature(width=800, height=300, strokes=[starpos.SignatureStroke(points=points)])
        c.payments().sign_sale(sale.id, drawn)
        for _ in range(200):
            if c.payments().sale(sale.id).signature == starpos.SignatureState.UPLOADED:
                break
            await asyncio.sleep(0.05)
        assert c.payments().sale(sale.id).signature == starpos.SignatureState.UPLOADED
        return c, sale

    c, sale = asyncio.run(sale_with_signature())
    receipt = c.payments().receipt(sale.id, starpos.ReceiptCopy.MERCHANT, False)
    url = receipt.e_receipt_url
    assert "/r/" in url and sale.id not in url
    theirs = c.payments().receipt_text(sale.id, starpos.ReceiptCopy.CUSTOMER, False)
    assert "持卡人存根 CARDHOLDER COPY" in theirs and "手续费" not in theirs and url in theirs

    with Browser(width=390, height=844, scale=2) as b:
        assert b.open(url) == 200
        assert text(b, "#amount") == "¥88.66"
        assert text(b, "#status") == "交易成功 APPROVED"
        page = b.eval("document.body.innerText")
        for needle in (receipt.merchant_name, receipt.terminal_id, receipt.masked_pan, receipt.reference_number,
                       "持卡人存根 CUSTOMER COPY", "Merchant", "Terminal"):
            assert needle in page, f"{needle!r} not on the page:\n{page}"
        assert "手续费" not in page and "Fee" not in page, "the customer's copy has no merchant fee"
        assert b.eval("document.documentElement.lang") == "zh-CN"
        assert b.eval("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling on a phone"
        assert b.eval("parseFloat(getComputedStyle(document.querySelector('#amount')).fontSize)") >= 28
        # The signature, through the browser under the page's content policy.
        assert b.eval("document.querySelector('#signature').naturalWidth") == 384
        png = b.screenshot(str(SHOT))
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", png[16:24])
        assert width == 780 and height >= 1_000, (width, height)

    async def void():
        starpos.uniffi_set_event_loop(asyncio.get_running_loop())
        await c.payments().void_sale(sale.id, PASSWORD)

    asyncio.run(void())
    with Browser() as b:
        assert b.open(url) == 200
        assert text(b, "#status") == "已撤销 VOIDED"
        assert "-¥88.66" in text(b, "#adjustments")
        assert b.open(url[:-1] + ("1" if url.endswith("0") else "0")) == 404
        assert "未找到该签购单" in b.eval("document.body.innerText")
