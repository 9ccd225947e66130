//! A Slack stand-in for the demo: an HTTP server on 127.0.0.1 that accepts incoming-webhook posts,
//! prints each message as it arrives and keeps them for the summary.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Clone, Default)]
pub struct Inbox(pub Arc<Mutex<Vec<serde_json::Value>>>);

impl Inbox {
    pub fn messages(&self) -> Vec<serde_json::Value> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

/// Starts the stand-in; returns its URL and the inbox. The task ends with the runtime.
pub async fn start(ui: super::ui::Ui) -> std::io::Result<(String, Inbox)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/services/demo/webhook", listener.local_addr()?);
    let inbox = Inbox::default();
    let keep = inbox.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let inbox = keep.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut reader = BufReader::new(read);
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        match reader.read_line(&mut line).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        if line == "\r\n" || line == "\n" {
                            break;
                        }
                        if let Some((k, v)) = line.split_once(':') {
                            if k.eq_ignore_ascii_case("content-length") {
                                length = v.trim().parse().unwrap_or(0);
                            }
                        }
                    }
                    let mut body = vec![0u8; length.min(1 << 20)];
                    if reader.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) {
                        ui.chat(&summary(&v));
                        if let Ok(mut m) = inbox.0.lock() {
                            m.push(v);
                        }
                    }
                    let reply = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok";
                    if write.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok((url, inbox))
}

/// One line for a Slack message: its fallback text, else its first text block.
pub fn summary(v: &serde_json::Value) -> String {
    let text = v
        .get("text")
        .and_then(|t| t.as_str())
        .map(str::to_owned)
        .or_else(|| {
            v.get("blocks")?.as_array()?.iter().find_map(|b| {
                b.pointer("/text/text")
                    .and_then(|t| t.as_str())
                    .map(str::to_owned)
            })
        });
    text.unwrap_or_else(|| "(message without text)".to_owned())
        .replace('\n', " ")
        .chars()
        .take(160)
        .collect()
}
