/* HMAC-SHA256 of short messages two at a time with the x86 SHA extensions.
 *
 * A SHA-256 compression through sha256rnds2 is bound by the instruction's latency: each pair of rounds
 * waits for the previous pair. Two independent compressions interleaved in one instruction stream
 * keep the unit busy, so two HMACs of short values (one block each for the inner and the outer hash,
 * the key's pads hashed once beforehand) cost little more than one. Used by `_native` for the
 * fingerprints of a document's values; OpenSSL computes every other digest, and all of them where the
 * CPU lacks the extensions (dlpscan_sha_ni() is 0) or the compiler cannot target them.
 */
#ifndef DLPSCAN_SHA256X2_H
#define DLPSCAN_SHA256X2_H

#include <stdint.h>
#include <string.h>

#define DLPSCAN_SHORT_MESSAGE 55 /* bytes: a message this long fits the inner hash's one block */

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define DLPSCAN_HAVE_SHA_NI 1

static const uint32_t dlpscan_k256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static int dlpscan_sha_ni(void) {
    static int known = -1;
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1") &&
                __builtin_cpu_supports("ssse3");
    }
    return known;
}

/* One block into each of two states (a, b: the eight words h0..h7). A block is 64 bytes or, with
   `words`, sixteen words in the CPU's order (the outer hash's block, made from the inner digest's
   words). Inlined with `words` a constant: two compressions in one instruction stream. */
__attribute__((target("sha,sse4.1,ssse3"), always_inline)) static inline void
dlpscan_sha256_x2(uint32_t a[8], const void *block_a, uint32_t b[8], const void *block_b, const int words) {
    const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i wa[16], wb[16];
    __m128i a0, a1, b0, b1, ta, tb, save_a0, save_a1, save_b0, save_b1, ka, kb;
    int i;
    /* h0..h7 into the ABEF / CDGH halves sha256rnds2 works on */
    ta = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&a[0]), 0xB1);
    a1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&a[4]), 0x1B);
    a0 = _mm_alignr_epi8(ta, a1, 8);
    a1 = _mm_blend_epi16(a1, ta, 0xF0);
    tb = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&b[0]), 0xB1);
    b1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&b[4]), 0x1B);
    b0 = _mm_alignr_epi8(tb, b1, 8);
    b1 = _mm_blend_epi16(b1, tb, 0xF0);
    save_a0 = a0, save_a1 = a1, save_b0 = b0, save_b1 = b1;
    _Pragma("GCC unroll 16") for (i = 0; i < 16; i++) { /* four rounds each, the schedule four words ahead */
        if (i < 4) {
            wa[i] = _mm_loadu_si128((const __m128i *)((const uint8_t *)block_a + 16 * i));
            wb[i] = _mm_loadu_si128((const __m128i *)((const uint8_t *)block_b + 16 * i));
            if (!words) {
                wa[i] = _mm_shuffle_epi8(wa[i], swap);
                wb[i] = _mm_shuffle_epi8(wb[i], swap);
            }
        } else {
            ta = _mm_add_epi32(_mm_sha256msg1_epu32(wa[i - 4], wa[i - 3]), _mm_alignr_epi8(wa[i - 1], wa[i - 2], 4));
            tb = _mm_add_epi32(_mm_sha256msg1_epu32(wb[i - 4], wb[i - 3]), _mm_alignr_epi8(wb[i - 1], wb[i - 2], 4));
            wa[i] = _mm_sha256msg2_epu32(ta, wa[i - 1]);
            wb[i] = _mm_sha256msg2_epu32(tb, wb[i - 1]);
        }
        ka = _mm_add_epi32(wa[i], _mm_loadu_si128((const __m128i *)&dlpscan_k256[4 * i]));
        kb = _mm_add_epi32(wb[i], _mm_loadu_si128((const __m128i *)&dlpscan_k256[4 * i]));
        a1 = _mm_sha256rnds2_epu32(a1, a0, ka);
        b1 = _mm_sha256rnds2_epu32(b1, b0, kb);
        a0 = _mm_sha256rnds2_epu32(a0, a1, _mm_shuffle_epi32(ka, 0x0E));
        b0 = _mm_sha256rnds2_epu32(b0, b1, _mm_shuffle_epi32(kb, 0x0E));
    }
    a0 = _mm_add_epi32(a0, save_a0);
    a1 = _mm_add_epi32(a1, save_a1);
    b0 = _mm_add_epi32(b0, save_b0);
    b1 = _mm_add_epi32(b1, save_b1);
    /* back to h0..h7 */
    ta = _mm_shuffle_epi32(a0, 0x1B);
    a1 = _mm_shuffle_epi32(a1, 0xB1);
    _mm_storeu_si128((__m128i *)&a[0], _mm_blend_epi16(ta, a1, 0xF0));
    _mm_storeu_si128((__m128i *)&a[4], _mm_alignr_epi8(a1, ta, 8));
    tb = _mm_shuffle_epi32(b0, 0x1B);
    b1 = _mm_shuffle_epi32(b1, 0xB1);
    _mm_storeu_si128((__m128i *)&b[0], _mm_blend_epi16(tb, b1, 0xF0));
    _mm_storeu_si128((__m128i *)&b[4], _mm_alignr_epi8(b1, tb, 8));
}

/* The last block of a message of 64 + n bytes whose first 64 (a pad) are hashed already. */
static inline void dlpscan_last_block(uint8_t block[64], const uint8_t *data, size_t n) {
    uint64_t bits = (uint64_t)(64 + n) * 8;
    int i;
    memset(block, 0, 64);
    memcpy(block, data, n);
    block[n] = 0x80;
    for (i = 0; i < 8; i++)
        block[63 - i] = (uint8_t)(bits >> (8 * i));
}

/* HMAC-SHA256 of two messages of at most DLPSCAN_SHORT_MESSAGE bytes each, given the states after the
   key's inner and outer pads (h0..h7): 32-byte digests into out_a and out_b. Only where
   dlpscan_sha_ni() is 1. */
__attribute__((target("sha,sse4.1,ssse3"))) static void
dlpscan_hmac_short_x2(const uint32_t inner[8], const uint32_t outer[8], const uint8_t *msg_a, size_t n_a,
                      const uint8_t *msg_b, size_t n_b, uint8_t *out_a, uint8_t *out_b) {
    uint8_t block_a[64], block_b[64];
    uint32_t a[16], b[16]; /* a state, then the outer block's words: the inner digest and its padding */
    int i;
    dlpscan_last_block(block_a, msg_a, n_a);
    dlpscan_last_block(block_b, msg_b, n_b);
    memcpy(a, inner, 32);
    memcpy(b, inner, 32);
    dlpscan_sha256_x2(a, block_a, b, block_b, 0);
    a[8] = b[8] = 0x80000000u;
    for (i = 9; i < 15; i++)
        a[i] = b[i] = 0;
    a[15] = b[15] = (64 + 32) * 8;
    memcpy(block_a, a, 64); /* the state is read before it is written: a copy of the words */
    memcpy(block_b, b, 64);
    memcpy(a, outer, 32);
    memcpy(b, outer, 32);
    dlpscan_sha256_x2(a, block_a, b, block_b, 1);
    for (i = 0; i < 8; i++) {
        uint32_t va = __builtin_bswap32(a[i]), vb = __builtin_bswap32(b[i]);
        memcpy(out_a + 4 * i, &va, 4);
        memcpy(out_b + 4 * i, &vb, 4);
    }
}

#else
#define DLPSCAN_HAVE_SHA_NI 0
static int dlpscan_sha_ni(void) { return 0; }
static void dlpscan_hmac_short_x2(const uint32_t inner[8], const uint32_t outer[8], const uint8_t *msg_a,
                                  size_t n_a, const uint8_t *msg_b, size_t n_b, uint8_t *out_a, uint8_t *out_b) {
    (void)inner, (void)outer, (void)msg_a, (void)n_a, (void)msg_b, (void)n_b, (void)out_a, (void)out_b;
}
#endif

#endif
