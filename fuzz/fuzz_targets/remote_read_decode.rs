//! Fuzz target: arbitrary bytes as a remote read request (and as a read response). Decoding must
//! return a request or a typed error, never panic; a decoded request must be answered from a
//! small database (or refused) without panicking. The first byte picks raw or snappy-compressed
//! input, as in `remote_write_decode`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promlite::{Db, Labels};
use promlite_remote::codec::{decode_read_request, decode_read_response};
use promlite_remote::receiver::answer_read;

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
    let _ = decode_read_response(&body, 1 << 20);
    if let Ok(request) = decode_read_request(&body, 1 << 20) {
        let db = Db::in_memory();
        let mut app = db.appender();
        let labels = Labels::from_pairs([("__name__", "up"), ("job", "a")]);
        for t in 0..10 {
            let _ = app.append(&labels, t * 1000, t as f64);
        }
        let _ = app.commit();
        let _ = answer_read(&db, &request, 1000);
    }
});
