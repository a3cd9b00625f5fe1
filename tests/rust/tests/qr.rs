//! QR payments' offline part (issue #15): the QR the phone draws for a merchant-presented
//! payload reads back, with an independent decoder (rqrr), to the payload it was made from,
//! whose CRC the decoder of the payload agrees with.

use starpos_core::qr::{self, DataObject, Initiation, MerchantAccount, MerchantQrInput};
use starpos_core::Error;

fn payload() -> String {
    qr::encode_merchant_qr(&MerchantQrInput {
        initiation: Initiation::Dynamic,
        accounts: vec![MerchantAccount {
            id: "26".into(),
            guid: Some("com.starpos.sandbox".into()),
            value: String::new(),
            fields: vec![DataObject::new("01", "ord_0123456789abcdef")],
        }],
        category_code: "5411".into(),
        currency: 156,
        amount_fen: Some(8_800),
        country: "CN".into(),
        name: "星标测试店".into(),
        city: "深圳".into(),
        additional: vec![DataObject::new("05", "ord_0123456789abcdef")],
        alternate_language: vec![],
    })
    .unwrap()
}

/// Reads a one-bit greyscale PNG and decodes the QR codes in it with rqrr.
fn read_back(png_bytes: &[u8]) -> Vec<String> {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.color_type, info.bit_depth), (png::ColorType::Grayscale, png::BitDepth::One));
    let (w, h) = (info.width as usize, info.height as usize);
    let row = info.line_size;
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        if buf[y * row + x / 8] & (0x80 >> (x % 8)) != 0 {
            255
        } else {
            0
        }
    });
    image.detect_grids().into_iter().map(|grid| grid.decode().unwrap().1).collect()
}

#[test]
fn the_qr_the_phone_draws_reads_back_to_its_payload() {
    let payload = payload();
    for module_px in [2, 4, 8] {
        let png_bytes = qr::qr_png(&payload, module_px).unwrap();
        assert_eq!(read_back(&png_bytes), vec![payload.clone()], "at {module_px} px a module");
    }
    let decoded = qr::decode_merchant_qr(&read_back(&qr::qr_png(&payload, 4).unwrap())[0]).unwrap();
    assert_eq!((decoded.amount_fen, decoded.name.as_str()), (Some(8_800), "星标测试店"));
    let (side, modules) = qr::qr_modules(&payload).unwrap();
    assert_eq!(modules.len(), side * side);
    assert!(modules[..side * 4].iter().all(|dark| !dark), "the quiet zone is light");
}

#[test]
fn a_module_size_or_payload_it_cannot_draw_is_refused() {
    assert!(matches!(qr::qr_png("x", 0), Err(Error::InvalidInput { .. })));
    assert!(matches!(qr::qr_png("x", 33), Err(Error::InvalidInput { .. })));
    assert!(matches!(qr::qr_png(&"x".repeat(5_000), 4), Err(Error::InvalidInput { .. })));
}
