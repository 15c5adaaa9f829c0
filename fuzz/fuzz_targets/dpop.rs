#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| authgate_fuzz::targets::dpop(data));
