//! The simulated reader on a loopback TCP socket, so another process (a Python or Kotlin test
//! playing the phone's Bluetooth link) can talk to it. One TCP connection is one Bluetooth
//! connection; the byte stream carries the reader protocol unchanged.

use std::sync::{Arc, Mutex};

use starpos_protocol::reader::frame::Decoder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::SimReader;

/// Serves `reader` to one connection at a time, until the listener fails.
pub async fn serve(listener: TcpListener, reader: Arc<Mutex<SimReader>>) {
    while let Ok((mut socket, peer)) = listener.accept().await {
        tracing::info!(%peer, "reader link connected");
        reader.lock().unwrap_or_else(|p| p.into_inner()).reconnected();
        let mut decoder = Decoder::new();
        let mut buf = vec![0u8; 4096];
        loop {
            let n = match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let out: Vec<Vec<u8>> = {
                let mut reader = reader.lock().unwrap_or_else(|p| p.into_inner());
                decoder.push(&buf[..n]).into_iter().flat_map(|frame| reader.handle(frame)).collect()
            };
            if let Err(e) = socket.write_all(&out.concat()).await {
                tracing::info!(error = %e, "reader link write failed");
                break;
            }
        }
        tracing::info!(%peer, "reader link closed");
    }
}
