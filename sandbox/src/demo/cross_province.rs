//! Scene: the merchant takes the reader from Guangdong to Hunan: refused, applies, approved,
//! sells there.

use super::*;

pub(super) const GUANGZHOU: starpos_core::location::Location =
    starpos_core::location::Location { latitude: 23.129_163, longitude: 113.264_435, accuracy_m: 12.0 };
pub(super) const CHANGSHA: starpos_core::location::Location =
    starpos_core::location::Location { latitude: 28.228_209, longitude: 112.938_814, accuracy_m: 15.0 };

/// The phone's position as the app's location provider reports it; the demo moves it.
pub(super) struct Gps(pub(super) std::sync::Mutex<starpos_core::location::Location>);
impl starpos_core::location::LocationProvider for Gps {
    fn current_location(&self) -> Option<starpos_core::location::Location> {
        Some(*self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Refused in Hunan, an application, its review, the sale once approved; then the data used.
pub(super) async fn cross_province_demo(
    phone: &StarPos,
    reader: &starpos_core::reader::controller::CardReader,
    gps: &Gps,
) -> Result<(), String> {
    use crate::test_kit::Quiet;
    use starpos_core::regions::ApplicationStatus;
    let rules = phone.regions().refresh_cross_province().await.map_err(show)?;
    println!("   registered in {} ({}); the phone reports Changsha now", rules.registered.name, rules.registered.code);
    *gps.0.lock().unwrap_or_else(|p| p.into_inner()) = CHANGSHA;
    let here = phone.regions().current_province().ok_or("Changsha is in no province")?;
    println!("   province_at(28.2282, 112.9388) = {} {} ({}), found offline", here.name, here.name_en, here.code);
    explain(phone.payments().start_sale(reader.clone(), 8_800, None, Arc::new(Quiet)).outcome().await);
    let filed = phone
        .regions()
        .apply_cross_province(here.code.clone(), "长沙秋季展销会 (trade fair)".into(), 7)
        .await
        .map_err(show)?;
    println!("   apply_cross_province({}, 7 days): {:?}", filed.province.code, filed.status);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let decided = loop {
        let status = phone.regions().refresh_cross_province().await.map_err(show)?;
        let a = status.applications.into_iter().find(|a| a.id == filed.id).ok_or("the application vanished")?;
        if a.status != ApplicationStatus::Pending || std::time::Instant::now() > deadline {
            break a;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    let days = decided.valid_until.zip(decided.decided_at).map_or(0, |(u, d)| (u - d) / 86_400);
    println!("   the platform reviewed it: {:?}, valid for {days} days", decided.status);
    let sale =
        phone.payments().start_sale(reader.clone(), 8_800, None, Arc::new(Quiet)).outcome().await.map_err(show)?;
    println!(
        "   sale of 88.00 yuan in Changsha: {:?}, recorded in province {}",
        sale.status,
        sale.province.as_deref().unwrap_or("?")
    );

    let usage = phone.network().data_usage_month(None).map_err(show)?;
    println!(
        "   data used this month on mobile: {} requests, {} bytes up, {} bytes down; the largest kinds:",
        usage.mobile.requests, usage.mobile.bytes_up, usage.mobile.bytes_down
    );
    for k in usage.kinds.iter().take(4) {
        println!(
            "     {:<28} {:>3} requests {:>7} bytes up {:>7} bytes down",
            k.kind, k.usage.requests, k.usage.bytes_up, k.usage.bytes_down
        );
    }
    Ok(())
}
