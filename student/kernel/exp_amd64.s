//go:build !purego

#include "textflag.h"

// Eight copies of a float32 (or int32) bit pattern, for 256-bit operands.
#define CONST8(name, v) \
	DATA name<>+0(SB)/4, $v; \
	DATA name<>+4(SB)/4, $v; \
	DATA name<>+8(SB)/4, $v; \
	DATA name<>+12(SB)/4, $v; \
	DATA name<>+16(SB)/4, $v; \
	DATA name<>+20(SB)/4, $v; \
	DATA name<>+24(SB)/4, $v; \
	DATA name<>+28(SB)/4, $v; \
	GLOBL name<>(SB), RODATA|NOPTR, $32

// The float32 constants of Expf, bit for bit.
CONST8(expHi, 0x42b17217)    // 88.72283
CONST8(expLo, 0xc2aeac4f)    // -87.33654
CONST8(expLog2e, 0x3fb8aa3b) // 1.44269504088896341
CONST8(expHalf, 0x3f000000)  // 0.5
CONST8(expSign, 0x80000000)  // sign bit
CONST8(expC1, 0x3f318000)    // 0.693359375
CONST8(expC2, 0xb95e8083)    // -2.12194440e-4
CONST8(expP0, 0x39506967)    // 1.9875691500e-4
CONST8(expP1, 0x3ab743ce)    // 1.3981999507e-3
CONST8(expP2, 0x3c088908)    // 8.3334519073e-3
CONST8(expP3, 0x3d2aa9c1)    // 4.1665795894e-2
CONST8(expP4, 0x3e2aaaaa)    // 1.6666665459e-1
CONST8(expP5, 0x3f000000)    // 5.0000001201e-1
CONST8(expOne, 0x3f800000)   // 1
CONST8(expInf, 0x7f800000)   // +Inf
CONST8(exp127, 0x0000007f)   // int32 127

// EXPF8 sets Y5 to Expf of each lane of Y0, step for step as the scalar
// Expf rounds (separate multiplies and adds, no FMA). Clobbers Y1-Y4, Y6,
// Y7.
#define EXPF8 \
	VMULPS     expLog2e<>(SB), Y0, Y1 /* fx = x·log2(e) */; \
	VANDPS     expSign<>(SB), Y1, Y2; \
	VORPS      expHalf<>(SB), Y2, Y2 /* ±0.5 with the sign of fx */; \
	VADDPS     Y2, Y1, Y1; \
	VCVTTPS2DQ Y1, Y1 /* n = int32(fx ± 0.5) */; \
	VCVTDQ2PS  Y1, Y2 /* fn */; \
	VMULPS     expC1<>(SB), Y2, Y3; \
	VSUBPS     Y3, Y0, Y3; \
	VMULPS     expC2<>(SB), Y2, Y4; \
	VSUBPS     Y4, Y3, Y3 /* r = x - fn·c1 - fn·c2 */; \
	VMULPS     Y3, Y3, Y4 /* z = r·r */; \
	VMULPS     expP0<>(SB), Y3, Y5; \
	VADDPS     expP1<>(SB), Y5, Y5; \
	VMULPS     Y3, Y5, Y5; \
	VADDPS     expP2<>(SB), Y5, Y5; \
	VMULPS     Y3, Y5, Y5; \
	VADDPS     expP3<>(SB), Y5, Y5; \
	VMULPS     Y3, Y5, Y5; \
	VADDPS     expP4<>(SB), Y5, Y5; \
	VMULPS     Y3, Y5, Y5; \
	VADDPS     expP5<>(SB), Y5, Y5 /* p */; \
	VMULPS     Y4, Y5, Y5; \
	VADDPS     Y3, Y5, Y5; \
	VADDPS     expOne<>(SB), Y5, Y5 /* y = p·z + r + 1 */; \
	VPCMPGTD   exp127<>(SB), Y1, Y6 /* n > 127: y·2·2^(n-1) */; \
	VPADDD     Y6, Y1, Y1; \
	VADDPS     Y5, Y5, Y7 /* y+y, exactly y·2 */; \
	VBLENDVPS  Y6, Y7, Y5, Y5; \
	VPADDD     exp127<>(SB), Y1, Y1; \
	VPSLLD     $23, Y1, Y1; \
	VMULPS     Y1, Y5, Y5 /* y·2^n */; \
	VCMPPS     $0x1e, expHi<>(SB), Y0, Y6 /* x > hi: +Inf */; \
	VBLENDVPS  Y6, expInf<>(SB), Y5, Y5; \
	VCMPPS     $0x11, expLo<>(SB), Y0, Y6 /* x < lo: 0 */; \
	VANDNPS    Y5, Y6, Y5; \
	VCMPPS     $0x03, Y0, Y0, Y6 /* NaN: x */; \
	VBLENDVPS  Y6, Y0, Y5, Y5

// func expSubAVX2(y, x []float32, c float32, sum bool) (s float32)
// len(x) is a multiple of 8 and len(y) ≥ len(x). With sum, s is the sum of
// y added in index order.
TEXT ·expSubAVX2(SB), NOSPLIT, $0-60
	MOVQ         y_base+0(FP), DI
	MOVQ         x_base+24(FP), SI
	MOVQ         x_len+32(FP), CX
	VBROADCASTSS c+48(FP), Y8
	MOVBLZX      sum+52(FP), R8
	VXORPS       Y9, Y9, Y9
	SHRQ         $3, CX
	JZ           done

loop:
	VMOVUPS (SI), Y0
	VSUBPS  Y8, Y0, Y0
	EXPF8
	VMOVUPS Y5, (DI)
	TESTL   R8, R8
	JZ      next
	VADDSS  0(DI), X9, X9
	VADDSS  4(DI), X9, X9
	VADDSS  8(DI), X9, X9
	VADDSS  12(DI), X9, X9
	VADDSS  16(DI), X9, X9
	VADDSS  20(DI), X9, X9
	VADDSS  24(DI), X9, X9
	VADDSS  28(DI), X9, X9

next:
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  loop

done:
	VZEROUPPER
	MOVSS X9, s+56(FP)
	RET

// func swigluAVX2(m, sig, g, u []float32)
// m = g·σ(g)·u with σ(g) = 1/(1+Expf(-g)); sig, when not empty, gets σ(g).
// len(g) is a multiple of 8; m, u and a non-empty sig are as long.
TEXT ·swigluAVX2(SB), NOSPLIT, $0-96
	MOVQ m_base+0(FP), DI
	MOVQ sig_base+24(FP), R8
	MOVQ sig_len+32(FP), R9
	MOVQ g_base+48(FP), SI
	MOVQ u_base+72(FP), DX
	MOVQ g_len+56(FP), CX
	SHRQ $3, CX
	JZ   done

loop:
	VMOVUPS (SI), Y9
	VXORPS  expSign<>(SB), Y9, Y0 // -g
	EXPF8
	VADDPS  expOne<>(SB), Y5, Y5
	VMOVUPS expOne<>(SB), Y6
	VDIVPS  Y5, Y6, Y5            // s = 1/(1+e)
	TESTQ   R9, R9
	JZ      nosig
	VMOVUPS Y5, (R8)
	ADDQ    $32, R8

nosig:
	VMULPS  Y5, Y9, Y5            // g·s
	VMULPS  (DX), Y5, Y5          // ·u
	VMOVUPS Y5, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET
