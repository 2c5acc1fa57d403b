//! Gorilla-style chunk codec: delta-of-delta timestamps and XOR floats; no I/O.
