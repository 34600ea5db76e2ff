//go:build amd64 && !purego

#include "textflag.h"

// HSUM3 leaves in X0 the horizontal sums [a, b, c, c] of the eight lanes of
// a, b and c; Y1 is scratch.
#define HSUM3(a, b, c) \
	VHADDPS b, a, Y0; \
	VHADDPS c, c, Y1; \
	VHADDPS Y1, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0

// ADD3 adds the three floats at p to the low three of X0.
#define ADD3(p) \
	VMOVSD (p), X1; \
	VINSERTPS $0x20, 8(p), X1, X1; \
	VADDPS X1, X0, X0

// STORE3 writes the low three floats of X0 to p.
#define STORE3(p) \
	VMOVSD X0, (p); \
	VEXTRACTPS $2, X0, 8(p)

// FMA3 accumulates the products of the x vector at src with the three
// weight vectors in Y0..Y2 into a, b and c.
#define FMA3(src, a, b, c) \
	VMOVUPS src, Y3; \
	VFMADD231PS Y0, Y3, a; \
	VFMADD231PS Y1, Y3, b; \
	VFMADD231PS Y2, Y3, c

// FMA12 accumulates the products of three weight rows and four x rows over
// the 8 floats at byte offset off(AX) into Y4..Y15 (Y4+3i+j: x row i, weight
// row j).
#define FMA12(off) \
	VMOVUPS off(DI)(AX*1), Y0; \
	VMOVUPS off(R13)(AX*1), Y1; \
	VMOVUPS off(R14)(AX*1), Y2; \
	FMA3(off(SI)(AX*1), Y4, Y5, Y6); \
	FMA3(off(R10)(AX*1), Y7, Y8, Y9); \
	FMA3(off(R11)(AX*1), Y10, Y11, Y12); \
	FMA3(off(R12)(AX*1), Y13, Y14, Y15)

// ROW stores the sums of a, b and c to the output row at BX and moves BX
// to the next row; ROWACC adds them to it.
#define ROW(a, b, c) \
	HSUM3(a, b, c); \
	STORE3(BX); \
	ADDQ R9, BX

#define ROWACC(a, b, c) \
	HSUM3(a, b, c); \
	ADD3(BX); \
	STORE3(BX); \
	ADDQ R9, BX

// ROWS applies one of ROW and ROWACC to the four x rows' accumulators.
#define ROWS(row) \
	row(Y4, Y5, Y6); \
	row(Y7, Y8, Y9); \
	row(Y10, Y11, Y12); \
	row(Y13, Y14, Y15)

// func dotRows(k int, x *float32, ldx, m int, w *float32, ldw, cols int, y *float32, ldy int, acc bool)
//
// y[i*ldy+j] (+)= Σ_p<k x[i*ldx+p]·w[j*ldw+p] for i < m, j < cols ≤ 3, with
// k a multiple of 8. Rows and columns past m and cols repeat the last one
// (their sums are computed and not stored), so tails need no other path.
TEXT ·dotRows(SB), NOSPLIT, $64-73
	MOVQ k+0(FP), CX
	SHLQ $2, CX
	MOVQ ldx+16(FP), R8
	SHLQ $2, R8
	MOVQ ldy+64(FP), R9
	SHLQ $2, R9

	// Weight row pointers, clamped to the last of cols and biased by k so
	// that the loop index runs from -k to 0.
	MOVQ w+32(FP), DI
	MOVQ ldw+40(FP), AX
	SHLQ $2, AX
	MOVQ cols+48(FP), DX
	MOVQ DI, R13
	CMPQ DX, $2
	JLT  w1
	ADDQ AX, R13

w1:
	MOVQ R13, R14
	CMPQ DX, $3
	JLT  w2
	ADDQ AX, R14

w2:
	ADDQ CX, DI
	ADDQ CX, R13
	ADDQ CX, R14

	MOVQ x+8(FP), SI
	ADDQ CX, SI
	MOVQ y+56(FP), BX
	MOVQ m+24(FP), DX

group:
	// x row pointers of this group of four, clamped to the last row.
	MOVQ SI, R10
	CMPQ DX, $2
	JLT  x1
	ADDQ R8, R10

x1:
	MOVQ R10, R11
	CMPQ DX, $3
	JLT  x2
	ADDQ R8, R11

x2:
	MOVQ R11, R12
	CMPQ DX, $4
	JLT  x3
	ADDQ R8, R12

x3:
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	MOVQ   CX, AX
	NEGQ   AX

loop2:
	CMPQ AX, $-64
	JGT  loop1
	FMA12(0)
	FMA12(32)
	ADDQ $64, AX
	JMP  loop2

loop1:
	TESTQ AX, AX
	JZ    sums
	FMA12(0)

sums:
	CMPQ DX, $4
	JLT  partial
	CMPQ cols+48(FP), $3
	JLT  partial
	CMPB acc+72(FP), $0
	JNE  fullacc
	ROWS(ROW)
	JMP next

fullacc:
	ROWS(ROWACC)
	JMP next

partial:
	// A tail group: spill the sums to the frame, [4 rows][4], and store
	// the min(DX, 4) × cols that exist one by one.
	HSUM3(Y4, Y5, Y6)
	VMOVUPS X0, 0(SP)
	HSUM3(Y7, Y8, Y9)
	VMOVUPS X0, 16(SP)
	HSUM3(Y10, Y11, Y12)
	VMOVUPS X0, 32(SP)
	HSUM3(Y13, Y14, Y15)
	VMOVUPS X0, 48(SP)
	LEAQ    0(SP), R10
	MOVQ    DX, R11
	CMPQ    R11, $4
	JLE     prow
	MOVQ    $4, R11

prow:
	XORQ R12, R12

pcol:
	VMOVSS (R10)(R12*4), X0
	CMPB   acc+72(FP), $0
	JEQ    pstore
	VADDSS (BX)(R12*4), X0, X0

pstore:
	VMOVSS X0, (BX)(R12*4)
	INCQ   R12
	CMPQ   R12, cols+48(FP)
	JLT    pcol
	ADDQ   $16, R10
	ADDQ   R9, BX
	DECQ   R11
	JNZ    prow

next:
	LEAQ (SI)(R8*4), SI
	SUBQ $4, DX
	JG   group
	VZEROUPPER
	RET
