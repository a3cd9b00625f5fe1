//! The Bluetooth link, as the phone shell provides it: scan, connect, write, disconnect, and
//! events back (bytes received, link lost). The shell only moves bytes over the Nordic UART
//! service; framing, retries and the conversation are the core's.

use std::sync::Arc;

use tokio::sync::mpsc;

/// A reader seen while scanning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BleDevice {
    /// The platform's handle for the device (a MAC address on Android, a UUID on iOS).
    pub id: String,
    /// The advertised name, which carries the reader's serial number.
    pub name: String,
    pub rssi: i16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("Bluetooth is off or not permitted")]
    Unavailable,
    #[error("no such device nearby")]
    NotFound,
    #[error("the link is down")]
    Disconnected,
    #[error("Bluetooth error: {0}")]
    Other(String),
}

/// What the shell reports about a connected link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    Received(Vec<u8>),
    Disconnected(String),
}

/// Handed to the shell at connect: it calls these as notifications arrive and when the link
/// drops. Cheap to call from any thread; never blocks.
pub struct LinkEvents {
    tx: mpsc::UnboundedSender<LinkEvent>,
}

impl LinkEvents {
    pub fn channel() -> (Arc<LinkEvents>, mpsc::UnboundedReceiver<LinkEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Arc::new(LinkEvents { tx }), rx)
    }

    /// Bytes from the reader's TX characteristic.
    pub fn received(&self, bytes: Vec<u8>) {
        let _ = self.tx.send(LinkEvent::Received(bytes));
    }

    /// The operating system reported the link lost.
    pub fn disconnected(&self, reason: String) {
        let _ = self.tx.send(LinkEvent::Disconnected(reason));
    }
}

#[async_trait::async_trait]
pub trait BleLink: Send + Sync {
    async fn scan(&self, timeout_ms: u32) -> Result<Vec<BleDevice>, LinkError>;
    /// Connects, subscribes to notifications, negotiates the MTU and returns it.
    async fn connect(&self, device_id: &str, events: Arc<LinkEvents>) -> Result<u16, LinkError>;
    /// Writes one chunk (at most MTU - 3 bytes) to the reader's RX characteristic.
    async fn write(&self, bytes: Vec<u8>) -> Result<(), LinkError>;
    async fn disconnect(&self);
}
