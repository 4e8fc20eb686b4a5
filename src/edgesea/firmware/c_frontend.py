"""The C99 text of the device front end (``edgesea_frontend.h`` / ``.c``), as templates.

:mod:`edgesea.firmware.codegen` fills the ``@@NAME@@`` slots with the ``#define`` lines and
the coefficient tables of one model; everything else here is the fixed algorithm, written
for this project: framing (zero padding, or a stream whose frames are each computed once per
hop into a ring buffer of the last window's frames), window, a radix-2 real FFT (an
``n_fft / 2``-point complex FFT plus the split step), power or magnitude spectrum, sparse mel
filterbank, exponent, ``10 log10(max(x, amin))``, the dB reference and floor, and the int8
input quantization ``clamp(rint(x / scale) + zero_point, -128, 127)`` (round half to even,
as NumPy's ``round``). No heap; every buffer is static and sized by the ``#define`` lines;
float32 throughout.
"""

from __future__ import annotations

__all__ = ["HEADER_TEMPLATE", "SOURCE_TEMPLATE"]

HEADER_TEMPLATE = r"""/* edgesea_frontend.h: the log-mel front end of @@MODEL@@, generated
 * by edgesea (`edgesea export @@MODEL@@ --format firmware`) from @@SPEC@@.
 * Do not edit: regenerate.
 *
 * Audio in (float in [-1, 1], or int16 PCM), the model's int8 input tensor out: exactly the
 * front end the model was trained with (@@SUMMARY@@).
 * Portable C99, no heap, static buffers sized below, float32. Not reentrant: one instance.
 */
#ifndef EDGESEA_FRONTEND_H_
#define EDGESEA_FRONTEND_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

@@DEFINES@@

#define EDGESEA_INPUT_SIZE (EDGESEA_N_MELS * EDGESEA_N_FRAMES) /* values of one input */

#define EDGESEA_OK 0
#define EDGESEA_ERR_ARG (-1)       /* a NULL pointer or a negative count */
#define EDGESEA_ERR_SIZE (-2)      /* a window of the wrong length */
#define EDGESEA_ERR_NOT_READY (-3) /* fewer than EDGESEA_N_FRAMES frames streamed so far */

/* One window at a time. x: EDGESEA_WINDOW_SAMPLES samples (the padding of the model is
 * zeros)@@COMPUTE_DOC@@.
 * logmel: EDGESEA_INPUT_SIZE floats, required (work buffer, then the log-mel, band-major:
 * index m * EDGESEA_N_FRAMES + t). input: EDGESEA_INPUT_SIZE int8 values (the model input,
 * same layout) or NULL. Does not touch the stream state. */
int edgesea_fe_compute(const float *x, int32_t n, float *logmel, int8_t *input);

#if EDGESEA_STREAM
/* Streaming: frame k of the stream covers samples [k*HOP - PAD_BEFORE, k*HOP - PAD_BEFORE +
 * N_FFT) (zeros before the first sample) and is computed once, when its last sample arrives;
 * the last EDGESEA_N_FRAMES frames are kept (log-mel before the dB reference). */
void edgesea_fe_reset(void);
/* Feed samples (any count); returns the number of frames completed, or EDGESEA_ERR_ARG. */
int32_t edgesea_fe_push(const float *x, int32_t n);
/* The same for int16 PCM (x / 32768). */
int32_t edgesea_fe_push_pcm16(const int16_t *x, int32_t n);
/* Frames computed since the reset (wraps after 2^32). */
uint32_t edgesea_fe_frames(void);
/* 1 once EDGESEA_N_FRAMES frames have been computed. */
int edgesea_fe_window_ready(void);
/* The model input of the window made of the last EDGESEA_N_FRAMES frames: the window of
 * samples [s, s + EDGESEA_WINDOW_SAMPLES) with s = (edgesea_fe_frames() - EDGESEA_N_FRAMES)
 * * EDGESEA_HOP. logmel (EDGESEA_INPUT_SIZE floats) and input (EDGESEA_INPUT_SIZE int8) may
 * each be NULL: pass the TFLM input tensor's int8 buffer to need no other memory. */
int edgesea_fe_window(float *logmel, int8_t *input);
#endif

#ifdef __cplusplus
}
#endif

#endif /* EDGESEA_FRONTEND_H_ */
"""

SOURCE_TEMPLATE = r"""/* edgesea_frontend.c: the log-mel front end of @@MODEL@@, generated
 * by edgesea from @@SPEC@@. Do not edit: regenerate. See edgesea_frontend.h for the API.
 * Build: any C99 compiler, link the math library (-lm); -ffp-contract=off keeps the float
 * rounding of the host reference (no fused multiply-add). */
#include "edgesea_frontend.h"

#include <math.h>
#include <string.h>

#if EDGESEA_N_FFT < 8 || (EDGESEA_N_FFT & (EDGESEA_N_FFT - 1)) != 0
#error "EDGESEA_N_FFT must be a power of two >= 8"
#endif
#if EDGESEA_HOP > EDGESEA_N_FFT
#error "EDGESEA_HOP must not exceed EDGESEA_N_FFT"
#endif

#define N_FFT EDGESEA_N_FFT
#define HALF (EDGESEA_N_FFT / 2)
#define QUARTER (EDGESEA_N_FFT / 4)
#define NF EDGESEA_N_FRAMES
#define NM EDGESEA_N_MELS

/* ---- coefficient tables (flash) ---- */
@@TABLES@@

/* ---- scratch (static RAM) ---- */
static float s_fft[N_FFT];      /* one windowed frame, then its HALF-point complex FFT */
static float s_power[HALF + 1]; /* power (or magnitude) spectrum of the frame */
#if EDGESEA_STREAM
static float s_hist[N_FFT];     /* the newest samples of the stream */
static float s_ring[NF * NM];   /* log-mel of the last NF frames, frame-major */
static int32_t s_fill = EDGESEA_PAD_BEFORE; /* valid samples in s_hist */
static int32_t s_slot;          /* ring slot of the next frame */
static uint32_t s_frames;       /* frames computed since the reset */
static int s_ready;             /* NF frames computed */
#endif

/* sin and cos of 2 pi k / N_FFT, k in [0, HALF], from the quarter-wave table */
static float tw_sin(int32_t k) { return k <= QUARTER ? k_sin[k] : k_sin[HALF - k]; }
static float tw_cos(int32_t k) { return k <= QUARTER ? k_sin[QUARTER - k] : -k_sin[k - QUARTER]; }

/* In-place iterative radix-2 FFT (decimation in time, exp(-i...)) of HALF complex values
 * stored as (re, im) pairs. */
static void cfft(float *b) {
    int32_t i, j, k, len;
    for (i = 1, j = 0; i < HALF; ++i) { /* bit-reversed order */
        int32_t bit = HALF >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) {
            float t = b[2 * i]; b[2 * i] = b[2 * j]; b[2 * j] = t;
            t = b[2 * i + 1]; b[2 * i + 1] = b[2 * j + 1]; b[2 * j + 1] = t;
        }
    }
    for (len = 2; len <= HALF; len <<= 1) {
        const int32_t half = len >> 1, step = N_FFT / len;
        for (k = 0; k < half; ++k) {
            const float wr = tw_cos(k * step), wi = -tw_sin(k * step);
            for (i = k; i < HALF; i += len) {
                float *a = b + 2 * i, *c = b + 2 * (i + half);
                const float tr = c[0] * wr - c[1] * wi;
                const float ti = c[0] * wi + c[1] * wr;
                c[0] = a[0] - tr;
                c[1] = a[1] - ti;
                a[0] += tr;
                a[1] += ti;
            }
        }
    }
}

/* Real FFT of the N_FFT samples in s_fft (packed as HALF complex values z[m] = x[2m] +
 * i x[2m+1]), then s_power[k] = re^2 + im^2 of bin k, k = 0 .. HALF. */
static void spectrum(void) {
    int32_t k;
    cfft(s_fft);
    {
        const float r = s_fft[0], i = s_fft[1];
        s_power[0] = (r + i) * (r + i);
        s_power[HALF] = (r - i) * (r - i);
    }
    for (k = 1; k <= HALF / 2; ++k) { /* bins k and HALF - k from Z[k] and Z[HALF - k] */
        const int32_t q = HALF - k;
        const float zr = s_fft[2 * k], zi = s_fft[2 * k + 1];
        const float yr = s_fft[2 * q], yi = s_fft[2 * q + 1];
        const float er = 0.5f * (zr + yr), ei = 0.5f * (zi - yi); /* even samples' part */
        const float dr = 0.5f * (zr - yr), di = 0.5f * (zi + yi); /* odd samples' part * i */
        const float c = tw_cos(k), s = tw_sin(k);
        const float a = c * di - s * dr, bb = c * dr + s * di;
        const float xr = er + a, xi = ei - bb; /* X[k] */
        const float vr = er - a, vi = ei + bb; /* conj(X[HALF - k]) up to sign */
        s_power[k] = xr * xr + xi * xi;
        s_power[q] = vr * vr + vi * vi;
    }
#if EDGESEA_MAGNITUDE
    for (k = 0; k <= HALF; ++k) s_power[k] = sqrtf(s_power[k]);
#endif
}

/* Window the frame x[start .. start + N_FFT) (zeros outside [0, n)) into s_fft. */
static void load_frame(const float *x, int32_t n, int32_t start) {
    int32_t i;
    for (i = 0; i < N_FFT; ++i) {
        const int32_t s = start + i;
        s_fft[i] = (s >= 0 && s < n) ? x[s] * k_window[i] : 0.0f;
    }
}

/* Mel bands of s_power, exponent and logarithm: out[m * stride], m = 0 .. NM - 1. */
static void mel_frame(float *out, int32_t stride) {
    int32_t m, j;
    for (m = 0; m < NM; ++m) {
        const float *w = k_mel_weights + k_mel_offset[m];
        const float *p = s_power + k_mel_first[m];
        const int32_t cnt = (int32_t)k_mel_offset[m + 1] - (int32_t)k_mel_offset[m];
        float acc = 0.0f;
        for (j = 0; j < cnt; ++j) acc += w[j] * p[j];
#if EDGESEA_EXPONENT_MODE == 1
        acc = sqrtf(acc);
#elif EDGESEA_EXPONENT_MODE == 2
        acc = powf(acc, EDGESEA_EXPONENT);
#endif
#if EDGESEA_DB
        acc = 10.0f * log10f(acc > EDGESEA_AMIN ? acc : EDGESEA_AMIN);
#endif
        out[m * stride] = acc;
    }
}

#if EDGESEA_INPUT_INT8
/* clamp(rint(x / scale) + zero_point, -128, 127): rint rounds half to even, as NumPy. */
static int8_t quantize(float x) {
    float v = rintf(x / EDGESEA_INPUT_SCALE) + (float)EDGESEA_INPUT_ZERO_POINT;
    if (v < -128.0f) v = -128.0f;
    if (v > 127.0f) v = 127.0f;
    return (int8_t)v;
}
#endif

/* dB reference and floor over one window, then the outputs. Value (frame t, band m) is
 * src[slot(t) * fs + m * bs] with slot(t) = (first + t) mod NF; it may be the same array as
 * logmel (read before written, element by element). */
static void finish(const float *src, int32_t first, int32_t fs, int32_t bs, float *logmel,
                   int8_t *input) {
    int32_t t, m, slot;
#if EDGESEA_DB && (EDGESEA_REF_MAX || EDGESEA_TOP_DB_ON)
    float peak = src[first * fs];
    for (t = 0, slot = first; t < NF; ++t, slot = slot + 1 == NF ? 0 : slot + 1)
        for (m = 0; m < NM; ++m) {
            const float v = src[slot * fs + m * bs];
            if (v > peak) peak = v;
        }
#endif
#if EDGESEA_DB && EDGESEA_TOP_DB_ON
#if EDGESEA_REF_MAX
    const float floor_db = 0.0f - EDGESEA_TOP_DB;
#else
    const float floor_db = (peak - EDGESEA_REF_DB) - EDGESEA_TOP_DB;
#endif
#endif
    (void)input;
    for (t = 0, slot = first; t < NF; ++t, slot = slot + 1 == NF ? 0 : slot + 1)
        for (m = 0; m < NM; ++m) {
            float v = src[slot * fs + m * bs];
            const int32_t idx = m * NF + t;
#if EDGESEA_DB
#if EDGESEA_REF_MAX
            v = v - peak;
#else
            v = v - EDGESEA_REF_DB;
#endif
#if EDGESEA_TOP_DB_ON
            if (v < floor_db) v = floor_db;
#endif
#endif
            if (logmel) logmel[idx] = v;
#if EDGESEA_INPUT_INT8
            if (input) input[idx] = quantize(v);
#endif
        }
}

int edgesea_fe_compute(const float *x, int32_t n, float *logmel, int8_t *input) {
    int32_t t, off;
    if (!x || !logmel) return EDGESEA_ERR_ARG;
    if (n == EDGESEA_WINDOW_SAMPLES) {
        off = -EDGESEA_PAD_BEFORE;
#if EDGESEA_STREAM
    } else if (n == EDGESEA_WINDOW_SAMPLES + EDGESEA_PAD_BEFORE + EDGESEA_PAD_AFTER) {
        off = 0;
#endif
    } else {
        return EDGESEA_ERR_SIZE;
    }
    for (t = 0; t < NF; ++t) {
        load_frame(x, n, off + t * EDGESEA_HOP);
        spectrum();
        mel_frame(logmel + t, NF);
    }
    finish(logmel, 0, 1, NF, logmel, input);
    return EDGESEA_OK;
}

#if EDGESEA_STREAM
void edgesea_fe_reset(void) {
    memset(s_hist, 0, sizeof s_hist);
    s_fill = EDGESEA_PAD_BEFORE;
    s_slot = 0;
    s_frames = 0;
    s_ready = 0;
}

int32_t edgesea_fe_push(const float *x, int32_t n) {
    int32_t made = 0;
    if ((!x && n > 0) || n < 0) return EDGESEA_ERR_ARG;
    while (n > 0) {
        int32_t take = N_FFT - s_fill;
        if (take > n) take = n;
        memcpy(s_hist + s_fill, x, (size_t)take * sizeof(float));
        s_fill += take;
        x += take;
        n -= take;
        if (s_fill == N_FFT) {
            load_frame(s_hist, N_FFT, 0);
            spectrum();
            mel_frame(s_ring + s_slot * NM, 1);
            s_slot = s_slot + 1 == NF ? 0 : s_slot + 1;
            ++s_frames;
            ++made;
            if (s_slot == 0) s_ready = 1;
            memmove(s_hist, s_hist + EDGESEA_HOP, (size_t)(N_FFT - EDGESEA_HOP) * sizeof(float));
            s_fill = N_FFT - EDGESEA_HOP;
        }
    }
    return made;
}

int32_t edgesea_fe_push_pcm16(const int16_t *x, int32_t n) {
    float buf[64];
    int32_t made = 0, i;
    if ((!x && n > 0) || n < 0) return EDGESEA_ERR_ARG;
    while (n > 0) {
        const int32_t chunk = n < 64 ? n : 64;
        for (i = 0; i < chunk; ++i) buf[i] = (float)x[i] * (1.0f / 32768.0f);
        made += edgesea_fe_push(buf, chunk);
        x += chunk;
        n -= chunk;
    }
    return made;
}

uint32_t edgesea_fe_frames(void) { return s_frames; }

int edgesea_fe_window_ready(void) { return s_ready; }

int edgesea_fe_window(float *logmel, int8_t *input) {
    if (!s_ready) return EDGESEA_ERR_NOT_READY;
    finish(s_ring, s_slot, NM, 1, logmel, input);
    return EDGESEA_OK;
}
#endif
"""
