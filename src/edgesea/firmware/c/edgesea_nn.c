/* edgesea_nn.c: int8 kernels of the generated network (edgesea). Do not edit.
 * TFLite's integer arithmetic (see edgesea_nn.h); plain C, or the Cortex-M DSP extension
 * when __ARM_FEATURE_DSP is set (not with -DEDGESEA_NN_NO_DSP). Both give the same bits. */
#include "edgesea_nn.h"

#include <string.h>

#if defined(EDGESEA_NN_EMULATE_DSP)
#define ESN_DSP 1
/* The ACLE intrinsics in portable C (host tests of the DSP path). */
static int32_t esn_lo(int32_t v) { return (int16_t)(uint16_t)((uint32_t)v & 0xFFFFu); }
static int32_t esn_hi(int32_t v) { return (int16_t)(uint16_t)((uint32_t)v >> 16); }
static int32_t esn_pack(int32_t lo, int32_t hi) {
    return (int32_t)(((uint32_t)hi << 16) | ((uint32_t)lo & 0xFFFFu));
}
static int32_t __sxtb16(int32_t v) {
    return esn_pack((int8_t)(uint8_t)((uint32_t)v & 0xFFu),
                    (int8_t)(uint8_t)(((uint32_t)v >> 16) & 0xFFu));
}
static int32_t __sxtab16(int32_t a, int32_t v) {
    const int32_t b = __sxtb16(v);
    return esn_pack(esn_lo(a) + esn_lo(b), esn_hi(a) + esn_hi(b));
}
static int32_t __smlad(int32_t a, int32_t b, int32_t acc) {
    return acc + esn_lo(a) * esn_lo(b) + esn_hi(a) * esn_hi(b);
}
static int32_t __smlabb(int32_t a, int32_t b, int32_t acc) { return acc + esn_lo(a) * esn_lo(b); }
static uint32_t esn_ge; /* the APSR.GE bits of the emulated SSUB8 */
static int32_t __ssub8(int32_t a, int32_t b) {
    uint32_t r = 0, i;
    esn_ge = 0;
    for (i = 0; i < 4; ++i) {
        const int32_t d = (int8_t)(uint8_t)((uint32_t)a >> (8 * i))
                          - (int8_t)(uint8_t)((uint32_t)b >> (8 * i));
        if (d >= 0) esn_ge |= 1u << i;
        r |= ((uint32_t)d & 0xFFu) << (8 * i);
    }
    return (int32_t)r;
}
static int32_t __sel(int32_t a, int32_t b) {
    uint32_t r = 0, i;
    for (i = 0; i < 4; ++i)
        r |= (((esn_ge >> i) & 1u ? (uint32_t)a : (uint32_t)b) >> (8 * i) & 0xFFu) << (8 * i);
    return (int32_t)r;
}
static int32_t __smlabt(int32_t a, int32_t b, int32_t acc) { return acc + esn_lo(a) * esn_hi(b); }
static int32_t __smlatt(int32_t a, int32_t b, int32_t acc) { return acc + esn_hi(a) * esn_hi(b); }
#elif defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && !defined(EDGESEA_NN_NO_DSP)
#define ESN_DSP 1
#include <arm_acle.h>
#else
#define ESN_DSP 0
#endif

#if ESN_DSP
static inline int32_t esn_ld32(const void *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline int32_t esn_dup16(int32_t v) {
    return (int32_t)(((uint32_t)v << 16) | ((uint32_t)v & 0xFFFFu));
}
#if defined(EDGESEA_NN_EMULATE_DSP)
static int32_t esn_ror8(int32_t v) {
    return (int32_t)(((uint32_t)v >> 8) | ((uint32_t)v << 24));
}
static int32_t esn_sxtb16_ror8(int32_t v) { return __sxtb16(esn_ror8(v)); }
static int32_t esn_sxtab16_ror8(int32_t a, int32_t v) { return __sxtab16(a, esn_ror8(v)); }
#else /* one instruction each (the rotation is part of SXTB16 / SXTAB16) */
static inline int32_t esn_sxtb16_ror8(int32_t v) {
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}
static inline int32_t esn_sxtab16_ror8(int32_t a, int32_t v) {
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(v));
    return r;
}
#endif
#endif

/* TFLite's MultiplyByQuantizedMultiplier: round(x * m * 2^shift / 2^31), two roundings.
 * The saturating rounding doubling high multiply, trunc((x*m + (x*m >= 0 ? 2^30 :
 * 1 - 2^30)) / 2^31), equals floor((x*m + 2^30) / 2^31) for every x*m (one SMLAL and a
 * shift); its one saturating case, x = m = INT32_MIN, cannot occur: the generator's
 * multipliers are in [0, 2^31 - 1]. The rounding right shift rounds half away from zero. */
static inline int32_t esn_mbqm_i(int32_t x, int32_t multiplier, int32_t shift) {
    const int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    const int64_t v = (int64_t)(int32_t)((uint32_t)x << left) * multiplier + (1 << 30);
    const int32_t hi = (int32_t)(v >> 31);
    const int32_t mask = (int32_t)((1u << right) - 1u);
    const int32_t thr = (mask >> 1) + (int32_t)((uint32_t)hi >> 31);
    return (hi >> right) + ((hi & mask) > thr ? 1 : 0);
}

int32_t esn_mbqm(int32_t x, int32_t multiplier, int32_t shift) {
    return esn_mbqm_i(x, multiplier, shift);
}

/* One output channel's requantization constants, loaded once. */
typedef struct {
    int32_t bias, mult, half, shift;
} esn_q_t;

static inline esn_q_t esn_q(const esn_conv_t *p, int32_t c) {
    esn_q_t q;
    if (p->rq) {
        memcpy(&q, p->rq + 4 * c, sizeof q);
    } else {
        q.bias = p->bias ? p->bias[c] : 0;
        q.mult = p->mult[c];
        q.half = 0;
        q.shift = p->shift[c];
    }
    return q;
}

/* acc + bias, requantized, plus the output zero point, clamped. With p->rq (|acc| < 2^30,
 * right shift r >= 1): (x*m + 2^30) >> 31 == (2x*m + 2^31) >> 32 (one SMMULR), and the
 * rounding shift is (hi + 2^(r-1) - (hi < 0)) >> r, which cannot overflow (|hi| <= |x|):
 * the value of esn_mbqm in fewer instructions. */
static inline int32_t esn_rq(const esn_conv_t *p, esn_q_t q, int32_t acc) {
    acc += q.bias;
    if (p->rq) {
        int32_t hi;
#if ESN_DSP && !defined(EDGESEA_NN_EMULATE_DSP)
        __asm__("smmulr %0, %1, %2" : "=r"(hi) : "r"(acc * 2), "r"(q.mult));
#else
        hi = (int32_t)(((int64_t)acc * 2 * q.mult + ((int64_t)1 << 31)) >> 32);
#endif
        acc = (hi + q.half - (int32_t)((uint32_t)hi >> 31)) >> q.shift;
    } else {
        acc = esn_mbqm_i(acc, q.mult, q.shift);
    }
    acc += p->out_offset;
    if (acc < p->act_min) acc = p->act_min;
    if (acc > p->act_max) acc = p->act_max;
    return acc;
}

static inline int8_t esn_out(int32_t acc, const esn_conv_t *p, int32_t c) {
    return (int8_t)esn_rq(p, esn_q(p, c), acc);
}

/* Four consecutive output channels, requantized before any is stored (an int8 store may
 * alias p, which would make the compiler reload it). */
static inline void esn_out4(const esn_conv_t *p, int32_t oc, int32_t a0, int32_t a1,
                            int32_t a2, int32_t a3, int8_t *y) {
    a0 = esn_rq(p, esn_q(p, oc), a0);
    a1 = esn_rq(p, esn_q(p, oc + 1), a1);
    a2 = esn_rq(p, esn_q(p, oc + 2), a2);
    a3 = esn_rq(p, esn_q(p, oc + 3), a3);
    y[oc] = (int8_t)a0;
    y[oc + 1] = (int8_t)a1;
    y[oc + 2] = (int8_t)a2;
    y[oc + 3] = (int8_t)a3;
}

#if ESN_DSP
static void esn_expand(const int8_t *x, int32_t n4, int32_t off2, int16_t *q) {
    int32_t k;
    for (k = 0; k < n4; k += 4) { /* (x0, x2) and (x1, x3), offset added, as int16 pairs */
        const int32_t v = esn_ld32(x + k);
        const int32_t a = __sxtab16(off2, v), b = esn_sxtab16_ror8(off2, v);
        memcpy(q + k, &a, sizeof a);
        memcpy(q + k + 2, &b, sizeof b);
    }
}

/* Four input pixels of a 1x1 convolution, one output channel at a time: each weight word
 * is unpacked once for the four pixels (q15: 8 * in_c bytes, the pixels' int16 pairs
 * interleaved so that each group of four inputs of the four pixels is 32 contiguous bytes). */
static void esn_pointwise4(const esn_conv_t *p, const int8_t *x, int32_t step, int8_t *y,
                           int16_t *q15) {
    const int32_t n = p->in_c, n4 = n & ~3, off = p->in_offset, off2 = esn_dup16(off);
    int32_t oc, k, i;
    for (i = 0; i < 4; ++i) {
        const int8_t *xi = x + i * step;
        int16_t *q = q15 + 4 * i;
        for (k = 0; k < n4; k += 4, q += 16) {
            const int32_t v = esn_ld32(xi + k);
            const int32_t a = __sxtab16(off2, v), b = esn_sxtab16_ror8(off2, v);
            memcpy(q, &a, sizeof a);
            memcpy(q + 2, &b, sizeof b);
        }
    }
    for (oc = 0; oc < p->out_c; ++oc) {
        const int8_t *w = p->weights + oc * n;
        const int16_t *q = q15;
        int32_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
#if defined(EDGESEA_NN_EMULATE_DSP)
        for (k = 0; k < n4; k += 4, q += 16) {
            const int32_t u = esn_ld32(w + k);
            const int32_t u0 = __sxtb16(u), u1 = esn_sxtb16_ror8(u);
            c0 = __smlad(u1, esn_ld32(q + 2), __smlad(u0, esn_ld32(q), c0));
            c1 = __smlad(u1, esn_ld32(q + 6), __smlad(u0, esn_ld32(q + 4), c1));
            c2 = __smlad(u1, esn_ld32(q + 10), __smlad(u0, esn_ld32(q + 8), c2));
            c3 = __smlad(u1, esn_ld32(q + 14), __smlad(u0, esn_ld32(q + 12), c3));
        }
#else
        if (n4) { /* 16 multiply-accumulates in 17 instructions */
            const int8_t *wp = w;
            int32_t cnt = n4 >> 2, u, u0, a, b;
            __asm__ volatile(
                "1:\n\t"
                "ldr %[u], [%[w]], #4\n\t"
                "ldrd %[a], %[b], [%[q]], #8\n\t"
                "sxtb16 %[u0], %[u]\n\t"
                "sxtb16 %[u], %[u], ror #8\n\t"
                "smlad %[c0], %[u0], %[a], %[c0]\n\t"
                "smlad %[c0], %[u], %[b], %[c0]\n\t"
                "ldrd %[a], %[b], [%[q]], #8\n\t"
                "smlad %[c1], %[u0], %[a], %[c1]\n\t"
                "smlad %[c1], %[u], %[b], %[c1]\n\t"
                "ldrd %[a], %[b], [%[q]], #8\n\t"
                "smlad %[c2], %[u0], %[a], %[c2]\n\t"
                "smlad %[c2], %[u], %[b], %[c2]\n\t"
                "ldrd %[a], %[b], [%[q]], #8\n\t"
                "smlad %[c3], %[u0], %[a], %[c3]\n\t"
                "smlad %[c3], %[u], %[b], %[c3]\n\t"
                "subs %[n], %[n], #1\n\t"
                "bne 1b\n\t"
                : [c0] "+r"(c0), [c1] "+r"(c1), [c2] "+r"(c2), [c3] "+r"(c3), [w] "+r"(wp),
                  [q] "+r"(q), [n] "+r"(cnt), [u] "=&r"(u), [u0] "=&r"(u0), [a] "=&r"(a),
                  [b] "=&r"(b)
                :
                : "cc", "memory");
            k = n4;
        }
#endif
        for (; k < n; ++k) {
            c0 += (x[k] + off) * w[k];
            c1 += (x[step + k] + off) * w[k];
            c2 += (x[2 * step + k] + off) * w[k];
            c3 += (x[3 * step + k] + off) * w[k];
        }
        {
            const esn_q_t rq = esn_q(p, oc);
            const int32_t o = p->out_c;
            c0 = esn_rq(p, rq, c0);
            c1 = esn_rq(p, rq, c1);
            c2 = esn_rq(p, rq, c2);
            c3 = esn_rq(p, rq, c3);
            y[oc] = (int8_t)c0;
            y[o + oc] = (int8_t)c1;
            y[2 * o + oc] = (int8_t)c2;
            y[3 * o + oc] = (int8_t)c3;
        }
    }
}
#endif

/* One input pixel of a 1x1 convolution: out_c outputs. */
static void esn_pointwise(const esn_conv_t *p, const int8_t *x, int8_t *y, int16_t *q15) {
    const int32_t n = p->in_c, off = p->in_offset;
    int32_t oc = 0, k;
#if ESN_DSP
    const int32_t n8 = n & ~7, n4 = n & ~3, off2 = esn_dup16(off);
    esn_expand(x, n4, off2, q15);
    for (; oc + 1 < p->out_c; oc += 2) { /* two output channels share each input word */
        const int8_t *w0 = p->weights + oc * n, *w1 = w0 + n;
        const int16_t *q = q15;
        int32_t acc0 = 0, acc1 = 0;
        for (k = 0; k < n8; k += 8, q += 8) {
            int32_t a = esn_ld32(q), b = esn_ld32(q + 2);
            int32_t u = esn_ld32(w0 + k), v = esn_ld32(w1 + k);
            acc0 = __smlad(__sxtb16(u), a, acc0);
            acc0 = __smlad(esn_sxtb16_ror8(u), b, acc0);
            acc1 = __smlad(__sxtb16(v), a, acc1);
            acc1 = __smlad(esn_sxtb16_ror8(v), b, acc1);
            a = esn_ld32(q + 4);
            b = esn_ld32(q + 6);
            u = esn_ld32(w0 + k + 4);
            v = esn_ld32(w1 + k + 4);
            acc0 = __smlad(__sxtb16(u), a, acc0);
            acc0 = __smlad(esn_sxtb16_ror8(u), b, acc0);
            acc1 = __smlad(__sxtb16(v), a, acc1);
            acc1 = __smlad(esn_sxtb16_ror8(v), b, acc1);
        }
        if (k < n4) {
            const int32_t a = esn_ld32(q), b = esn_ld32(q + 2);
            const int32_t u = esn_ld32(w0 + k), v = esn_ld32(w1 + k);
            acc0 = __smlad(__sxtb16(u), a, acc0);
            acc0 = __smlad(esn_sxtb16_ror8(u), b, acc0);
            acc1 = __smlad(__sxtb16(v), a, acc1);
            acc1 = __smlad(esn_sxtb16_ror8(v), b, acc1);
        }
        for (k = n4; k < n; ++k) {
            acc0 += (x[k] + off) * w0[k];
            acc1 += (x[k] + off) * w1[k];
        }
        y[oc] = esn_out(acc0, p, oc);
        y[oc + 1] = esn_out(acc1, p, oc + 1);
    }
#else
    (void)q15;
#endif
    for (; oc < p->out_c; ++oc) {
        const int8_t *w = p->weights + oc * n;
        int32_t acc = 0;
        for (k = 0; k < n; ++k) acc += (x[k] + off) * w[k];
        y[oc] = esn_out(acc, p, oc);
    }
}

/* Output row oy of a convolution. */
static void esn_conv_row(const esn_conv_t *p, const int8_t *in, int32_t oy, int8_t *out,
                         int16_t *q15) {
    int32_t ox, oc, fy, fx, c;
    if (p->k_h == 1 && p->k_w == 1 && p->pad_top == 0 && p->pad_left == 0) {
        const int8_t *x = in + (oy * p->stride_h) * p->in_w * p->in_c;
        const int32_t step = p->stride_w * p->in_c;
        ox = 0;
#if ESN_DSP
        for (; ox + 3 < p->out_w; ox += 4)
            esn_pointwise4(p, x + ox * step, step, out + ox * p->out_c, q15);
#endif
        for (; ox < p->out_w; ++ox) esn_pointwise(p, x + ox * step, out + ox * p->out_c, q15);
        return;
    }
    for (ox = 0; ox < p->out_w; ++ox) {
        for (oc = 0; oc < p->out_c; ++oc) {
            int32_t acc = 0;
            for (fy = 0; fy < p->k_h; ++fy) {
                const int32_t iy = oy * p->stride_h - p->pad_top + fy * p->dil_h;
                if (iy < 0 || iy >= p->in_h) continue;
                for (fx = 0; fx < p->k_w; ++fx) {
                    const int32_t ix = ox * p->stride_w - p->pad_left + fx * p->dil_w;
                    const int8_t *x, *w;
                    if (ix < 0 || ix >= p->in_w) continue;
                    x = in + (iy * p->in_w + ix) * p->in_c;
                    w = p->weights + ((oc * p->k_h + fy) * p->k_w + fx) * p->in_c;
                    for (c = 0; c < p->in_c; ++c) acc += (x[c] + p->in_offset) * w[c];
                }
            }
            out[ox * p->out_c + oc] = esn_out(acc, p, oc);
        }
    }
}

void esn_conv(const esn_conv_t *p, const int8_t *in, int8_t *out, int16_t *q15) {
    int32_t oy;
    if (p->k_h == 1 && p->k_w == 1 && p->stride_h == 1 && p->stride_w == 1
        && p->pad_top == 0 && p->pad_left == 0) { /* the pixels are one contiguous row */
        esn_conv_t whole = *p;
        whole.in_w = whole.out_w = p->out_h * p->out_w;
        whole.in_h = whole.out_h = 1;
        esn_conv_row(&whole, in, 0, out, q15);
        return;
    }
    for (oy = 0; oy < p->out_h; ++oy)
        esn_conv_row(p, in, oy, out + oy * p->out_w * p->out_c, q15);
}

static int8_t esn_clamp8(int32_t v, int32_t lo, int32_t hi) {
    return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}

void esn_conv_pool(const esn_conv_t *p, const esn_pool_t *q, const int8_t *in, int8_t *out,
                   int8_t *rows, int16_t *q15) {
    const int32_t row = p->out_w * p->out_c;
    int32_t py, px, fy, fx, c;
    for (py = 0; py < q->out_h; ++py) {
        for (fy = 0; fy < q->k_h; ++fy)
            esn_conv_row(p, in, py * q->stride_h + fy, rows + fy * row, q15);
        for (px = 0; px < q->out_w; ++px) {
            int8_t *y = out + (py * q->out_w + px) * q->c;
            c = 0;
#if ESN_DSP
            if (q->act_min == -128 && q->act_max == 127) /* four channels at a time */
                for (; c + 3 < q->c; c += 4) {
                    int32_t m = esn_ld32(rows + px * q->stride_w * q->c + c);
                    for (fy = 0; fy < q->k_h; ++fy)
                        for (fx = 0; fx < q->k_w; ++fx) {
                            const int32_t v =
                                esn_ld32(rows + fy * row + (px * q->stride_w + fx) * q->c + c);
                            (void)__ssub8(m, v); /* GE bits: m >= v per byte */
                            m = __sel(m, v);
                        }
                    memcpy(y + c, &m, sizeof m);
                }
#endif
            for (; c < q->c; ++c) {
                int32_t m = -128;
                for (fy = 0; fy < q->k_h; ++fy)
                    for (fx = 0; fx < q->k_w; ++fx) {
                        const int32_t v = rows[fy * row + (px * q->stride_w + fx) * q->c + c];
                        if (v > m) m = v;
                    }
                y[c] = esn_clamp8(m, q->act_min, q->act_max);
            }
        }
    }
}

/* Weight of output channel oc at tap t of a depthwise convolution. */
static inline int8_t esn_dw_w(const esn_conv_t *p, int32_t t, int32_t oc) {
    return p->grouped ? p->weights[((oc >> 2) * p->k_h * p->k_w + t) * 4 + (oc & 3)]
                      : p->weights[t * p->out_c + oc];
}

#if ESN_DSP
/* One tap for four channels: v = 4 input channels (dm 1) or x2 = one input twice (C == 1). */
#define ESN_TAP4(V, U)                                                          \
    do {                                                                        \
        const int32_t v_ = (V), u_ = (U);                                       \
        const int32_t xa_ = __sxtab16(off2, v_), xb_ = esn_sxtab16_ror8(off2, v_); \
        const int32_t wa_ = __sxtb16(u_), wb_ = esn_sxtb16_ror8(u_);            \
        a0 = __smlabb(xa_, wa_, a0);                                            \
        a2 = __smlatt(xa_, wa_, a2);                                            \
        a1 = __smlabb(xb_, wb_, a1);                                            \
        a3 = __smlatt(xb_, wb_, a3);                                            \
    } while (0)
#define ESN_TAP1(X, U)                                                          \
    do {                                                                        \
        const int32_t x2_ = esn_dup16((X) + off), u_ = (U);                     \
        const int32_t wa_ = __sxtb16(u_), wb_ = esn_sxtb16_ror8(u_);            \
        a0 = __smlabb(x2_, wa_, a0);                                            \
        a2 = __smlabt(x2_, wa_, a2);                                            \
        a1 = __smlabb(x2_, wb_, a1);                                            \
        a3 = __smlabt(x2_, wb_, a3);                                            \
    } while (0)

#if defined(EDGESEA_NN_EMULATE_DSP)
#define ESN_ROW3_C4(R, C, W)                                                    \
    do {                                                                        \
        ESN_TAP4(esn_ld32(R), esn_ld32(W));                                     \
        ESN_TAP4(esn_ld32((R) + (C)), esn_ld32((W) + 4));                       \
        ESN_TAP4(esn_ld32((R) + 2 * (C)), esn_ld32((W) + 8));                   \
        (W) += 12;                                                              \
    } while (0)
#define ESN_ROW3_C1(R, W)                                                       \
    do {                                                                        \
        ESN_TAP1((R)[0], esn_ld32(W));                                          \
        ESN_TAP1((R)[1], esn_ld32((W) + 4));                                    \
        ESN_TAP1((R)[2], esn_ld32((W) + 8));                                    \
        (W) += 12;                                                              \
    } while (0)
#else /* the same three taps in ten instructions each, without spilling a register */
#define ESN_A4_TAP(LOAD)                                                        \
    LOAD "\n\t"                                                                 \
    "sxtab16 %[xa], %[off2], %[v]\n\t"                                          \
    "sxtab16 %[xb], %[off2], %[v], ror #8\n\t"                                  \
    "ldr %[v], [%[w]], #4\n\t"                                                  \
    "sxtb16 %[t], %[v]\n\t"                                                     \
    "smlabb %[a0], %[xa], %[t], %[a0]\n\t"                                      \
    "smlatt %[a2], %[xa], %[t], %[a2]\n\t"                                      \
    "sxtb16 %[t], %[v], ror #8\n\t"                                             \
    "smlabb %[a1], %[xb], %[t], %[a1]\n\t"                                      \
    "smlatt %[a3], %[xb], %[t], %[a3]\n\t"
#define ESN_ROW3_C4(R, C, W)                                                    \
    do {                                                                        \
        int32_t v_, xa_, xb_, t_;                                               \
        __asm__ volatile(ESN_A4_TAP("ldr %[v], [%[r]]")                         \
                         ESN_A4_TAP("ldr %[v], [%[r], %[c]]")                   \
                         ESN_A4_TAP("ldr %[v], [%[r], %[c], lsl #1]")           \
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2),         \
                           [a3] "+r"(a3), [w] "+r"(W), [v] "=&r"(v_),           \
                           [xa] "=&r"(xa_), [xb] "=&r"(xb_), [t] "=&r"(t_)      \
                         : [r] "r"(R), [c] "r"(C), [off2] "r"(off2)             \
                         : "memory");                                           \
    } while (0)
#define ESN_A1_TAP(K)                                                           \
    "ldrsb %[v], [%[r], #" K "]\n\t"                                            \
    "add %[v], %[v], %[off]\n\t"                                                \
    "pkhbt %[xa], %[v], %[v], lsl #16\n\t"                                      \
    "ldr %[v], [%[w]], #4\n\t"                                                  \
    "sxtb16 %[t], %[v]\n\t"                                                     \
    "smlabb %[a0], %[xa], %[t], %[a0]\n\t"                                      \
    "smlabt %[a2], %[xa], %[t], %[a2]\n\t"                                      \
    "sxtb16 %[t], %[v], ror #8\n\t"                                             \
    "smlabb %[a1], %[xa], %[t], %[a1]\n\t"                                      \
    "smlabt %[a3], %[xa], %[t], %[a3]\n\t"
#define ESN_ROW3_C1(R, W)                                                       \
    do {                                                                        \
        int32_t v_, xa_, t_;                                                    \
        __asm__ volatile(ESN_A1_TAP("0") ESN_A1_TAP("1") ESN_A1_TAP("2")        \
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2),         \
                           [a3] "+r"(a3), [w] "+r"(W), [v] "=&r"(v_),           \
                           [xa] "=&r"(xa_), [t] "=&r"(t_)                       \
                         : [r] "r"(R), [off] "r"(off)                           \
                         : "memory");                                           \
    } while (0)
#endif

/* Four channels of one output pixel near the border (grouped weights, DSP extension). */
static void esn_dw_group4(const esn_conv_t *p, const int8_t *const *rows, int32_t x0,
                          int32_t f0, int32_t f1, int32_t oc, int8_t *y) {
    const int32_t C = p->in_c, off = p->in_offset, off2 = esn_dup16(off);
    const int32_t taps = p->k_h * p->k_w, step = p->dil_w * C;
    const int8_t *wg = p->weights + (oc >> 2) * taps * 4;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, fy, fx;
    for (fy = 0; fy < p->k_h; ++fy) {
        const int8_t *r = rows[fy], *w = wg + (fy * p->k_w + f0) * 4;
        if (!r) continue;
        if (C == 1) {
            for (r += x0 + f0 * p->dil_w, fx = f0; fx < f1; ++fx, r += step, w += 4)
                ESN_TAP1(*r, esn_ld32(w));
        } else {
            for (r += (x0 + f0 * p->dil_w) * C + oc, fx = f0; fx < f1; ++fx, r += step, w += 4)
                ESN_TAP4(esn_ld32(r), esn_ld32(w));
        }
    }
    esn_out4(p, oc, a0, a1, a2, a3, y);
}
#endif

/* Output row of a depthwise convolution from the input rows of its taps (NULL: padding). */
static void esn_dw_row(const esn_conv_t *p, const int8_t *const *rows, int8_t *out) {
    const int32_t C = p->in_c, OC = p->out_c, kw = p->k_w, dm = p->depth_mult;
    const int32_t step = p->dil_w * C, off = p->in_offset;
    int32_t ox, fy, fx;
    for (ox = 0; ox < p->out_w; ++ox) {
        const int32_t x0 = ox * p->stride_w - p->pad_left;
        int32_t f0 = 0, f1 = kw, oc = 0;
        int8_t *y = out + ox * OC;
        while (f0 < kw && x0 + f0 * p->dil_w < 0) ++f0; /* the taps inside the row */
        while (f1 > f0 && x0 + (f1 - 1) * p->dil_w >= p->in_w) --f1;
#if ESN_DSP
        if (p->grouped && ((dm == 1 && (C & 3) == 0) || C == 1)) {
            if (p->k_h == 3 && kw == 3 && f0 == 0 && f1 == 3 && p->dil_w == 1 && rows[0]
                && rows[1] && rows[2]) { /* interior 3x3 pixel: the groups' taps in a row */
                const int8_t *w = p->weights;
                const int8_t *r0 = rows[0] + x0 * C, *r1 = rows[1] + x0 * C;
                const int8_t *r2 = rows[2] + x0 * C;
                const int32_t off2 = esn_dup16(off);
                for (; oc < OC; oc += 4) {
                    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                    if (C == 1) {
                        ESN_ROW3_C1(r0, w);
                        ESN_ROW3_C1(r1, w);
                        ESN_ROW3_C1(r2, w);
                    } else {
                        ESN_ROW3_C4(r0 + oc, C, w);
                        ESN_ROW3_C4(r1 + oc, C, w);
                        ESN_ROW3_C4(r2 + oc, C, w);
                    }
                    esn_out4(p, oc, a0, a1, a2, a3, y);
                }
            } else {
                for (; oc < OC; oc += 4) esn_dw_group4(p, rows, x0, f0, f1, oc, y);
            }
        }
#endif
        for (; oc < OC; ++oc) {
            const int32_t ic = oc / dm, wstep = p->grouped ? 4 : OC;
            const int8_t *wc = p->grouped ? p->weights + (oc >> 2) * p->k_h * kw * 4 + (oc & 3)
                                          : p->weights + oc;
            int32_t acc = 0;
            for (fy = 0; fy < p->k_h; ++fy) {
                const int8_t *r = rows[fy], *w = wc + (fy * kw + f0) * wstep;
                if (!r) continue;
                r += (x0 + f0 * p->dil_w) * C + ic;
                for (fx = f0; fx < f1; ++fx, r += step, w += wstep) acc += (*r + off) * *w;
            }
            y[oc] = esn_out(acc, p, oc);
        }
    }
}

/* A 1x1 depthwise convolution with one output per input channel: per-channel affine. */
static int esn_dw_pointwise(const esn_conv_t *p, const int8_t *in, int8_t *out) {
    const int32_t C = p->in_c, n = p->out_h * p->out_w;
    int32_t i, c;
    if (p->k_h != 1 || p->k_w != 1 || p->depth_mult != 1 || p->stride_h != 1
        || p->stride_w != 1 || p->pad_top || p->pad_left || p->in_h != p->out_h
        || p->in_w != p->out_w)
        return 0;
    for (c = 0; c < C; ++c) { /* elementwise: in place too */
        const esn_q_t q = esn_q(p, c);
        const int32_t w = esn_dw_w(p, 0, c), off = p->in_offset;
        for (i = 0; i < n; ++i) out[i * C + c] = (int8_t)esn_rq(p, q, (in[i * C + c] + off) * w);
    }
    return 1;
}

void esn_dwconv(const esn_conv_t *p, const int8_t *in, int8_t *out) {
    const int8_t *rows[ESN_MAX_KERNEL];
    const int32_t row = p->in_w * p->in_c;
    int32_t oy, fy;
    if (esn_dw_pointwise(p, in, out)) return;
    for (oy = 0; oy < p->out_h; ++oy) {
        for (fy = 0; fy < p->k_h; ++fy) {
            const int32_t iy = oy * p->stride_h - p->pad_top + fy * p->dil_h;
            rows[fy] = (iy < 0 || iy >= p->in_h) ? 0 : in + iy * row;
        }
        esn_dw_row(p, rows, out + oy * p->out_w * p->out_c);
    }
}

void esn_dwconv_inplace(const esn_conv_t *p, int8_t *buf, int8_t *ring) {
    const int8_t *rows[ESN_MAX_KERNEL];
    const int32_t row = p->in_w * p->in_c, n_ring = p->pad_top + 1;
    int32_t oy, fy;
    if (esn_dw_pointwise(p, buf, buf)) return;
    for (oy = 0; oy < p->out_h; ++oy) {
        memcpy(ring + (oy % n_ring) * row, buf + oy * row, (size_t)row);
        for (fy = 0; fy < p->k_h; ++fy) {
            const int32_t iy = oy - p->pad_top + fy * p->dil_h;
            if (iy < 0 || iy >= p->in_h) rows[fy] = 0;
            else if (iy <= oy) rows[fy] = ring + (iy % n_ring) * row; /* already overwritten */
            else rows[fy] = buf + iy * row;
        }
        esn_dw_row(p, rows, buf + oy * row);
    }
}

void esn_maxpool(const esn_pool_t *p, const int8_t *in, int8_t *out) {
    int32_t oy, ox, fy, fx, c;
    for (oy = 0; oy < p->out_h; ++oy)
        for (ox = 0; ox < p->out_w; ++ox)
            for (c = 0; c < p->c; ++c) {
                int32_t m = -128;
                for (fy = 0; fy < p->k_h; ++fy) {
                    const int32_t iy = oy * p->stride_h - p->pad_top + fy;
                    if (iy < 0 || iy >= p->in_h) continue;
                    for (fx = 0; fx < p->k_w; ++fx) {
                        const int32_t ix = ox * p->stride_w - p->pad_left + fx;
                        int32_t v;
                        if (ix < 0 || ix >= p->in_w) continue;
                        v = in[(iy * p->in_w + ix) * p->c + c];
                        if (v > m) m = v;
                    }
                }
                out[(oy * p->out_w + ox) * p->c + c] = esn_clamp8(m, p->act_min, p->act_max);
            }
}

void esn_pad(const int32_t d[4], const int32_t b[4], const int32_t a[4], int8_t value,
             const int8_t *in, int8_t *out) {
    const int32_t o1 = d[1] + b[1] + a[1], o2 = d[2] + b[2] + a[2], o3 = d[3] + b[3] + a[3];
    const int32_t o0 = d[0] + b[0] + a[0];
    int32_t i0, i1, i2;
    memset(out, value, (size_t)(o0 * o1 * o2 * o3));
    for (i0 = 0; i0 < d[0]; ++i0)
        for (i1 = 0; i1 < d[1]; ++i1)
            for (i2 = 0; i2 < d[2]; ++i2)
                memcpy(out + (((i0 + b[0]) * o1 + i1 + b[1]) * o2 + i2 + b[2]) * o3 + b[3],
                       in + ((i0 * d[1] + i1) * d[2] + i2) * d[3], (size_t)d[3]);
}

void esn_transpose(const int32_t d[4], const int32_t perm[4], const int8_t *in, int8_t *out) {
    const int32_t stride[4] = {d[1] * d[2] * d[3], d[2] * d[3], d[3], 1};
    const int32_t s0 = stride[perm[0]], s1 = stride[perm[1]], s2 = stride[perm[2]];
    const int32_t s3 = stride[perm[3]];
    int32_t i0, i1, i2, i3;
    for (i0 = 0; i0 < d[perm[0]]; ++i0)
        for (i1 = 0; i1 < d[perm[1]]; ++i1)
            for (i2 = 0; i2 < d[perm[2]]; ++i2)
                for (i3 = 0; i3 < d[perm[3]]; ++i3)
                    *out++ = in[i0 * s0 + i1 * s1 + i2 * s2 + i3 * s3];
}

void esn_requant(int32_t n, int32_t in_offset, int32_t mult, int32_t shift,
                 int32_t out_offset, const int8_t *in, int8_t *out) {
    int32_t i;
    for (i = 0; i < n; ++i)
        out[i] = esn_clamp8(esn_mbqm(in[i] + in_offset, mult, shift) + out_offset, -128, 127);
}

void esn_reduce_max(const int32_t d[4], int32_t axes, const int8_t *in, int8_t *out) {
    int32_t od[4], n = 1, i, i0, i1, i2, i3;
    for (i = 0; i < 4; ++i) {
        od[i] = (axes >> i) & 1 ? 1 : d[i];
        n *= od[i];
    }
    memset(out, -128, (size_t)n);
    for (i0 = 0; i0 < d[0]; ++i0)
        for (i1 = 0; i1 < d[1]; ++i1)
            for (i2 = 0; i2 < d[2]; ++i2)
                for (i3 = 0; i3 < d[3]; ++i3) {
                    const int32_t o = (((axes & 1 ? 0 : i0) * od[1] + (axes & 2 ? 0 : i1))
                                       * od[2] + (axes & 4 ? 0 : i2)) * od[3]
                                      + (axes & 8 ? 0 : i3);
                    const int8_t v = *in++;
                    if (v > out[o]) out[o] = v;
                }
}
