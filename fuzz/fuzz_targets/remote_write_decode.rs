//! Fuzz target: arbitrary bytes as a remote write body. Decoding must return a batch or a typed
//! error, never panic, and a decoded batch must apply to a database (stored or refused) without
//! panicking. The first byte picks the mode: the raw body as sent, or the rest snappy-compressed
//! first so the fuzzer reaches the protobuf and label checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promlite_remote::codec::decode_write_request;
use promlite_remote::receiver::apply_write;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let body = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        match snap::raw::Encoder::new().compress_vec(rest) {
            Ok(body) => body,
            Err(_) => return,
        }
    };
    if let Ok(batch) = decode_write_request(&body, 1 << 20) {
        let db = promlite::Db::in_memory();
        let _ = apply_write(&db, &batch);
    }
});
