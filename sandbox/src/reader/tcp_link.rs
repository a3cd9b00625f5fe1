//! The phone's side of the loopback reader link, in Rust: a [`BleLink`] over TCP to
//! `starpos sandbox reader` (or `tcp::serve`), for child processes of the kill suite that play
//! the app. The Python and Kotlin binding tests have their own versions of this.

use std::sync::Arc;

use starpos_core::reader::link::{BleDevice, BleLink, LinkError, LinkEvents};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::Mutex;

pub struct TcpPhoneLink {
    addr: String,
    serial: String,
    mtu: u16,
    writer: Mutex<Option<OwnedWriteHalf>>,
}

impl TcpPhoneLink {
    /// `addr` as `host:port` (a `tcp://` prefix is accepted); the reader advertises `serial`.
    pub fn new(addr: &str, serial: &str, mtu: u16) -> TcpPhoneLink {
        TcpPhoneLink {
            addr: addr.trim_start_matches("tcp://").into(),
            serial: serial.into(),
            mtu,
            writer: Mutex::new(None),
        }
    }
}

#[async_trait::async_trait]
impl BleLink for TcpPhoneLink {
    async fn scan(&self, _timeout_ms: u32) -> Result<Vec<BleDevice>, LinkError> {
        Ok(vec![BleDevice { id: self.serial.clone(), name: format!("StarPOS-{}", self.serial), rssi: -50 }])
    }

    async fn connect(&self, device_id: &str, events: Arc<LinkEvents>) -> Result<u16, LinkError> {
        if device_id != self.serial {
            return Err(LinkError::NotFound);
        }
        let stream = TcpStream::connect(&self.addr).await.map_err(|e| LinkError::Other(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        let (mut read, write) = stream.into_split();
        *self.writer.lock().await = Some(write);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                match read.read(&mut buf).await {
                    Ok(0) | Err(_) => {
                        events.disconnected("socket closed".into());
                        return;
                    }
                    Ok(n) => events.received(buf[..n].to_vec()),
                }
            }
        });
        Ok(self.mtu)
    }

    async fn write(&self, bytes: Vec<u8>) -> Result<(), LinkError> {
        let mut writer = self.writer.lock().await;
        let w = writer.as_mut().ok_or(LinkError::Disconnected)?;
        w.write_all(&bytes).await.map_err(|_| LinkError::Disconnected)
    }

    async fn disconnect(&self) {
        if let Some(mut w) = self.writer.lock().await.take() {
            let _ = w.shutdown().await;
        }
    }
}
