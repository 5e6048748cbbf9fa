// csha256: the SHA-256 compression function over whole 64-byte blocks, with the x86 SHA extensions (SHA-NI) when
// the CPU has them and portable C otherwise. Padding, buffering and hex live in Swift (Engine/ModelIO/SHA256.swift).
#ifndef CSHA256_H
#define CSHA256_H
#include <stddef.h>
#include <stdint.h>

/// Updates `state` (the eight working words h0..h7) with `blocks` consecutive 64-byte blocks at `data`.
void csha256_blocks(uint32_t state[8], const uint8_t *data, size_t blocks);

/// The portable C compression alone (tests compare it with the SHA-NI path and the known vectors).
void csha256_blocks_portable(uint32_t state[8], const uint8_t *data, size_t blocks);

/// 1 when `csha256_blocks` uses the SHA extensions on this CPU.
int csha256_uses_sha_ni(void);
#endif
