//! Storage engine: head block with WAL, roaring label index, memory-mapped blocks, querier.
