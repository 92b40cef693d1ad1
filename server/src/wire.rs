//! The connection layer under axum: gives hyper's own error answers a SCIM body.
//!
//! hyper answers a request it cannot parse before any handler or middleware sees it: a
//! Request-URI over 65,534 bytes gets 414, header fields past its buffer 431, a malformed
//! request line or header 400, each with an empty body. RFC 7644 section 3.12 wants every
//! error as a SCIM error object, so [`ScimListener`] wraps each connection and rewrites such
//! a bodiless 4xx head, as hyper writes it, into the same status with a SCIM error body.
//! The handlers' own 4xx answers always carry a body ([`crate::routes`] `finish`), so a 4xx
//! head with `content-length: 0` can only be hyper's.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// A TCP listener whose connections are [`ScimErrors`].
pub(crate) struct ScimListener(pub(crate) TcpListener);

impl axum::serve::Listener for ScimListener {
    type Io = ScimErrors<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = axum::serve::Listener::accept(&mut self.0).await;
        (
            ScimErrors {
                inner: io,
                pending: None,
            },
            addr,
        )
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// A connection that rewrites hyper's bodiless 4xx answers (see the module doc).
pub(crate) struct ScimErrors<T> {
    inner: T,
    /// The rewritten answer, how much of it is written, and the length of the buffer it
    /// replaces (what the writer is told was written once it is all out).
    pending: Option<(Vec<u8>, usize, usize)>,
}

impl<T: AsyncWrite + Unpin> ScimErrors<T> {
    fn drive(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some((bytes, written, _)) = &mut self.pending {
            while *written < bytes.len() {
                let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                *written += n;
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ScimErrors<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ScimErrors<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pending.is_none() {
            match with_scim_body(buf) {
                Some(rewritten) => this.pending = Some((rewritten, 0, buf.len())),
                None => return Pin::new(&mut this.inner).poll_write(cx, buf),
            }
        }
        ready!(this.drive(cx))?;
        let replaced = this.pending.take().map_or(buf.len(), |(_, _, n)| n);
        Poll::Ready(Ok(replaced))
    }

    /// Vectored like the socket, so hyper keeps its queued (copy-free) write strategy; a
    /// bodiless error head arrives as the only non-empty slice.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pending.is_none() {
            let mut filled = bufs.iter().filter(|b| !b.is_empty());
            let only = match (filled.next(), filled.next()) {
                (Some(only), None) => with_scim_body(only).map(|r| (r, only.len())),
                _ => None,
            };
            match only {
                Some((rewritten, len)) => this.pending = Some((rewritten, 0, len)),
                None => return Pin::new(&mut this.inner).poll_write_vectored(cx, bufs),
            }
        }
        ready!(this.drive(cx))?;
        let replaced = this.pending.take().map_or(0, |(_, _, n)| n);
        Poll::Ready(Ok(replaced))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drive(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drive(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// `buf` rewritten with a SCIM error body, when it is exactly one 4xx response head with
/// `content-length: 0`; `None` for anything else.
fn with_scim_body(buf: &[u8]) -> Option<Vec<u8>> {
    // Cheap checks first: this sees every write, response bodies included.
    if !buf.starts_with(b"HTTP/1.1 4") || !buf.ends_with(b"\r\n\r\n") || buf.len() > 4096 {
        return None;
    }
    let text = std::str::from_utf8(buf).ok()?;
    let head = text.strip_prefix("HTTP/1.1 4")?.strip_suffix("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let code: u16 = format!("4{}", status_line.get(..2)?).parse().ok()?;
    let headers: Vec<&str> = lines.collect();
    let empty = headers.iter().any(|h| {
        h.split_once(':').is_some_and(|(n, v)| {
            n.trim().eq_ignore_ascii_case("content-length") && v.trim() == "0"
        })
    });
    let typed = headers.iter().any(|h| {
        h.split_once(':')
            .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case("content-type"))
    });
    if !empty || typed {
        return None;
    }
    let detail = match code {
        414 => "the Request-URI is longer than this server reads (65534 bytes); send a long \
                filter in the body of POST /.search (RFC 7644 section 3.4.3)"
            .to_string(),
        431 => "the request header fields are larger than this server reads".to_string(),
        400 => "the request is not valid HTTP/1.1 (request line or header fields)".to_string(),
        other => axum::http::StatusCode::from_u16(other)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("client error")
            .to_lowercase(),
    };
    let body = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": code.to_string(),
        "detail": detail,
    })
    .to_string();
    let mut out = format!("HTTP/1.1 4{status_line}\r\n");
    for header in headers {
        let name = header.split(':').next().unwrap_or("").trim();
        if !name.eq_ignore_ascii_case("content-length") {
            out.push_str(header);
            out.push_str("\r\n");
        }
    }
    out.push_str(&format!(
        "content-type: application/scim+json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    ));
    Some(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bodiless_4xx_head_is_rewritten() {
        let bare = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let out = String::from_utf8(with_scim_body(bare).expect("rewritten")).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{head}");
        assert!(head.contains("date: x") && head.contains("application/scim+json"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["status"], "414");
        for untouched in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 12\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: x\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}",
        ] {
            assert!(with_scim_body(untouched).is_none());
        }
    }
}
