/* edgesea_nn.h: int8 kernels of the generated network (edgesea). Do not edit. */
#ifndef EDGESEA_NN_H_
#define EDGESEA_NN_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ESN_MAX_KERNEL 16 /* largest kernel height the row kernels take */

/* A convolution (CONV_2D, FULLY_CONNECTED as a 1x1 one) or a depthwise convolution. */
typedef struct {
    int32_t in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
    int32_t depth_mult;                 /* depthwise: output channels per input channel */
    int32_t in_offset, out_offset;      /* -input zero point, output zero point */
    int32_t act_min, act_max;           /* fused activation range */
    /* conv [out_c][k_h][k_w][in_c]; depthwise [k_h][k_w][out_c], or with grouped = 1 (out_c
     * a multiple of 4) [out_c / 4][k_h][k_w][4]: a group's taps are contiguous */
    int32_t grouped;
    const int8_t *weights;
    const int32_t *bias;                /* out_c values, or NULL */
    const int32_t *mult, *shift;        /* per output channel (Q31 multiplier, exponent) */
    /* or NULL: per output channel {bias, multiplier, 2^(r-1), r} of the fast requantization,
     * given when every |accumulator| < 2^30 and every shift is -r <= -1 (see esn_rq) */
    const int32_t *rq;
} esn_conv_t;

/* A max pooling (also fused after a convolution: VALID padding only). */
typedef struct {
    int32_t in_h, in_w, c, out_h, out_w;
    int32_t k_h, k_w, stride_h, stride_w, pad_top, pad_left;
    int32_t act_min, act_max;
} esn_pool_t;

int32_t esn_mbqm(int32_t x, int32_t multiplier, int32_t shift);
/* q15: 8 * in_c bytes of scratch (4-byte aligned) for the DSP build; unused otherwise. */
void esn_conv(const esn_conv_t *p, const int8_t *in, int8_t *out, int16_t *q15);
/* The convolution's output rows go through `rows` (pool->k_h rows) into the pooled output. */
void esn_conv_pool(const esn_conv_t *p, const esn_pool_t *pool, const int8_t *in,
                   int8_t *out, int8_t *rows, int16_t *q15);
void esn_dwconv(const esn_conv_t *p, const int8_t *in, int8_t *out);
/* In place (stride 1, same shape): ring holds (pad_top + 1) input rows. */
void esn_dwconv_inplace(const esn_conv_t *p, int8_t *buf, int8_t *ring);
void esn_maxpool(const esn_pool_t *p, const int8_t *in, int8_t *out);
void esn_pad(const int32_t dims[4], const int32_t before[4], const int32_t after[4],
             int8_t value, const int8_t *in, int8_t *out);
void esn_transpose(const int32_t dims[4], const int32_t perm[4], const int8_t *in,
                   int8_t *out);
void esn_requant(int32_t n, int32_t in_offset, int32_t mult, int32_t shift,
                 int32_t out_offset, const int8_t *in, int8_t *out);
/* axes: bit i set = dimension i is reduced. */
void esn_reduce_max(const int32_t dims[4], int32_t axes, const int8_t *in, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGESEA_NN_H_ */
