//! The ordering service: Broadcast in, consensus, block cutting, signed hash-chained blocks out.
#![allow(missing_docs)]

pub mod cutter;
