//! Helpers shared by the fuzz targets: a lenient reader of the plain-text response format the
//! seed corpora are written in, so that seeds stay readable and the fuzzer mutates text.
//!
//! The format: the first line holds the status (the first number in 100..=999 on it, else
//! 200); then `Name: value` lines up to the first empty line (lines that are not a valid header
//! are skipped; `\r\n` or `\n`); the rest, byte for byte, is the body.

//!
//! It also installs [`CappedAllocator`], so that an allocation sized by input is a crash.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use std::alloc::{GlobalAlloc, Layout, System};

/// The largest single allocation a target may make: 64 MiB. Nothing the protocol or the
/// sandbox parses needs more than a few kilobytes, so a larger request means a size taken from
/// input without a clamp (a `Vec::with_capacity(header_value)`).
pub const MAX_ALLOCATION: usize = 64 << 20;

/// The system allocator, aborting on any allocation above [`MAX_ALLOCATION`]. libFuzzer's own
/// `-malloc_limit_mb` works through a sanitizer's malloc hooks, which the stable toolchain's
/// `--sanitizer none` build does not have; this enforces the same rule, and libFuzzer reports
/// the abort as a crash with its input.
pub struct CappedAllocator;

// SAFETY: every call is passed to `System` unchanged; the only addition is an abort before
// an oversized request, which allocates nothing.
unsafe impl GlobalAlloc for CappedAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, that is from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check(new_size);
        // SAFETY: as for `dealloc`, and the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn check(size: usize) {
    if size > MAX_ALLOCATION {
        // No allocation here: write the reason with a fixed buffer, then abort.
        use std::io::Write as _;
        let _ = std::io::stderr().write_all(b"allocation above MAX_ALLOCATION: sized by input?\n");
        std::process::abort();
    }
}

#[global_allocator]
static ALLOCATOR: CappedAllocator = CappedAllocator;

/// Splits `data` into the status line, the header block and the body.
fn split(data: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let (first, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    // The header block ends at the first empty line.
    let mut at = 0;
    loop {
        let line_end = rest[at..].iter().position(|&b| b == b'\n').map(|i| at + i);
        let line = &rest[at..line_end.unwrap_or(rest.len())];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match line_end {
            _ if line.is_empty() => {
                let body_start = line_end.map_or(rest.len(), |end| end + 1);
                return (first, &rest[..at], &rest[body_start..]);
            }
            Some(end) => at = end + 1,
            None => return (first, rest, &[]),
        }
    }
}

/// The status on a status line: `200`, `HTTP/1.1 596 Service Not Found`, …
pub fn status(line: &[u8]) -> StatusCode {
    String::from_utf8_lossy(line)
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|word| word.parse::<u16>().ok())
        .find_map(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::OK)
}

/// Reads `Name: value` lines; invalid names or values are skipped; repeated names are kept.
pub fn headers(block: &[u8]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for line in block.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let value = line[colon + 1..].trim_ascii_start();
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(value),
        ) {
            map.append(name, value);
        }
    }
    map
}

/// A whole response in the seed format.
pub fn response(data: &[u8]) -> Response<Vec<u8>> {
    let (first, block, body) = split(data);
    let mut response = Response::new(body.to_vec());
    *response.status_mut() = status(first);
    *response.headers_mut() = headers(block);
    response
}

/// A whole request in the same format, its first line `METHOD /path?query` (a missing or
/// invalid method is `GET`, a missing or invalid target is `/`).
pub fn request(data: &[u8]) -> http::Request<Vec<u8>> {
    let (first, block, body) = split(data);
    let first = String::from_utf8_lossy(first);
    let mut words = first.split_ascii_whitespace();
    let method = words
        .next()
        .and_then(|m| http::Method::from_bytes(m.as_bytes()).ok())
        .unwrap_or(http::Method::GET);
    let uri = words
        .next()
        .and_then(|u| u.parse::<http::Uri>().ok())
        .unwrap_or_else(|| http::Uri::from_static("/"));
    let mut request = http::Request::new(body.to_vec());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers(block);
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_seed_format() {
        let r = response(
            b"HTTP/1.1 403 Forbidden\r\nX-Mashery-Error-Code: ERR_403_DEVELOPER_OVER_QPS\r\nbad header\r\nRetry-After: 1\r\n\r\n<h1>Developer Over Qps</h1>",
        );
        assert_eq!(r.status(), 403);
        assert_eq!(r.headers()["retry-after"], "1");
        assert_eq!(r.headers().len(), 2);
        assert_eq!(r.body(), b"<h1>Developer Over Qps</h1>");
        let r = response(b"200\n\n");
        assert_eq!(
            (r.status().as_u16(), r.headers().len(), r.body().len()),
            (200, 0, 0)
        );
        let r = response(b"abc");
        assert_eq!(r.status(), 200);
    }
}
