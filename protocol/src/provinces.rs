//! The 34 provincial-level divisions with their GB/T 2260 two-digit codes: the one table the
//! ID-number check, the boundary data and the cross-province rules all read.

/// A provincial-level division: `code` is the two-digit GB/T 2260 prefix ("44"), `name` the
/// official Chinese name (广东省), `name_en` its English name for logs and English screens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Province {
    pub code: String,
    pub name: String,
    pub name_en: String,
}

/// (code, Chinese name, English name), in code order.
pub const PROVINCES: [(&str, &str, &str); 34] = [
    ("11", "北京市", "Beijing"),
    ("12", "天津市", "Tianjin"),
    ("13", "河北省", "Hebei"),
    ("14", "山西省", "Shanxi"),
    ("15", "内蒙古自治区", "Inner Mongolia"),
    ("21", "辽宁省", "Liaoning"),
    ("22", "吉林省", "Jilin"),
    ("23", "黑龙江省", "Heilongjiang"),
    ("31", "上海市", "Shanghai"),
    ("32", "江苏省", "Jiangsu"),
    ("33", "浙江省", "Zhejiang"),
    ("34", "安徽省", "Anhui"),
    ("35", "福建省", "Fujian"),
    ("36", "江西省", "Jiangxi"),
    ("37", "山东省", "Shandong"),
    ("41", "河南省", "Henan"),
    ("42", "湖北省", "Hubei"),
    ("43", "湖南省", "Hunan"),
    ("44", "广东省", "Guangdong"),
    ("45", "广西壮族自治区", "Guangxi"),
    ("46", "海南省", "Hainan"),
    ("50", "重庆市", "Chongqing"),
    ("51", "四川省", "Sichuan"),
    ("52", "贵州省", "Guizhou"),
    ("53", "云南省", "Yunnan"),
    ("54", "西藏自治区", "Xizang (Tibet)"),
    ("61", "陕西省", "Shaanxi"),
    ("62", "甘肃省", "Gansu"),
    ("63", "青海省", "Qinghai"),
    ("64", "宁夏回族自治区", "Ningxia"),
    ("65", "新疆维吾尔自治区", "Xinjiang"),
    ("71", "台湾省", "Taiwan"),
    ("81", "香港特别行政区", "Hong Kong"),
    ("82", "澳门特别行政区", "Macao"),
];

/// The division with this two-digit code, if there is one.
pub fn province(code: &str) -> Option<Province> {
    PROVINCES.iter().find(|(c, _, _)| *c == code).map(|&(code, name, name_en)| Province {
        code: code.into(),
        name: name.into(),
        name_en: name_en.into(),
    })
}

/// The Chinese name of the division whose code, as a number, is `code` (the ledger stores codes
/// as integers): no allocation, for exports of a million rows.
pub fn province_name(code: i64) -> Option<&'static str> {
    PROVINCES
        .iter()
        .find(|(c, _, _)| {
            let b = c.as_bytes();
            i64::from(b[0] - b'0') * 10 + i64::from(b[1] - b'0') == code
        })
        .map(|(_, name, _)| *name)
}

/// Whether `code` is one of the 34 two-digit codes.
pub fn is_province_code(code: &str) -> bool {
    PROVINCES.iter().any(|(c, _, _)| *c == code)
}

/// The provincial-level division at a WGS-84 position (what phones' GPS reports), resolved
/// offline from the embedded boundaries; `None` outside China (abroad or at sea). Codes follow
/// GB/T 2260, so Kinmen and Matsu answer Fujian ("35"). The phone and the platform decide with
/// this same function.
pub fn province_at(latitude: f64, longitude: f64) -> Option<Province> {
    let code = crate::boundaries::grid()?.code_at(latitude, longitude)?;
    province(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_places() {
        let at = |lat, lon| province_at(lat, lon).map(|p| p.code);
        assert_eq!(at(23.129, 113.264).as_deref(), Some("44"), "Guangzhou");
        assert_eq!(at(28.228, 112.939).as_deref(), Some("43"), "Changsha");
        assert_eq!(at(37.5665, 126.978), None, "Seoul");
        assert_eq!(at(f64::NAN, 113.0), None);
        assert_eq!(at(95.0, 500.0), None);
        assert_eq!(at(1e300, -1e300), None, "no overflow on absurd input");
        assert_eq!(at(f64::INFINITY, f64::NEG_INFINITY), None);
    }

    #[test]
    fn codes_are_unique_sorted_and_two_digits() {
        for pair in PROVINCES.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{:?}", pair);
        }
        assert!(PROVINCES.iter().all(|(c, _, _)| c.len() == 2 && c.bytes().all(|b| b.is_ascii_digit())));
        assert_eq!(province("44").unwrap().name, "广东省");
        assert_eq!(province("82").unwrap().name_en, "Macao");
        assert!(province("99").is_none() && !is_province_code("4"));
        assert_eq!(
            (province_name(43), province_name(82), province_name(99)),
            (Some("湖南省"), Some("澳门特别行政区"), None)
        );
    }
}
