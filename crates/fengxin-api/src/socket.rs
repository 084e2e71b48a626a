//! The node's local socket: one request line, one response line, over a Unix socket in the
//! data directory (`node.sock`, owner-only like the directory), for processes of the node's own
//! OS user.

use crate::error::{ApiError, ErrorKind};
use crate::request::{decode_reply, encode_request, ApiRequest, ApiResponse, Reply};
use std::io::{BufRead, Write};
use std::path::Path;

/// Socket file name in the data directory.
pub const SOCKET: &str = "node.sock";

/// Replies longer than this are refused (a block or an audit fits many times over).
pub const MAX_REPLY: u64 = 256 << 20;

/// The most request bytes the node reads from one connection: a batch of 16,384 identifiers
/// of the longest kind (`fengxin screen --file` sends batches of that many) fits several times.
pub const MAX_REQUESTS: u64 = 32 << 20;

/// One request/response over the node's local socket (blocking). The node's own failures
/// arrive as [`ApiResponse::Error`]; this fails with [`ErrorKind::NodeUnreachable`] when no
/// node listens, [`ErrorKind::Protocol`] when the reply does not decode, and
/// [`ErrorKind::UnsupportedVersion`] when the node speaks another wire version.
pub fn call(data_dir: &Path, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    call_reply(data_dir, request).map(|r| r.response)
}

/// As [`call`], with the reply's development mark.
pub fn call_reply(data_dir: &Path, request: &ApiRequest) -> Result<Reply, ApiError> {
    use std::io::Read;
    let path = data_dir.join(SOCKET);
    let mut stream = std::os::unix::net::UnixStream::connect(&path).map_err(|e| {
        ApiError::new(
            ErrorKind::NodeUnreachable,
            format!("{}: {e} (is `fengxin-node run` running?)", path.display()),
        )
    })?;
    let line = encode_request(request)?;
    let io = |e: std::io::Error| ApiError::new(ErrorKind::Protocol, format!("local API: {e}"));
    stream.write_all(line.as_bytes()).map_err(io)?;
    let mut reply = String::new();
    std::io::BufReader::new(stream.take(MAX_REPLY))
        .read_line(&mut reply)
        .map_err(io)?;
    decode_reply(&reply)
}
