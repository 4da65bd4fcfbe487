/**
 * The call signatures of `Primitive.sequence`: one overload per length up to
 * 12 steps (so each joint infers its types from the previous step), then a
 * variadic form checked by `ValidSequence`. Kept apart from `Primitive.ts`
 * because they are two-thirds of its lines and say nothing new.
 *
 * @since 0.1.0
 */
import type { Context, Error, Input, Output, Primitive, ValidSequence } from "../Primitive.js"

type Last<Steps extends ReadonlyArray<unknown>> = Steps extends readonly [...infer _, infer L] ? L : never

/**
 * @since 0.1.0
 * @category models
 */
export interface Sequence {
  <I0, I1, E1, R1>(
    step1: Primitive<I0, I1, E1, R1>
  ): Primitive<I0, I1, E1, R1>
  <I0, I1, I2, E1, E2, R1, R2>(
    step1: Primitive<I0, I1, E1, R1>,
    step2: Primitive<I1, I2, E2, R2>
  ): Primitive<I0, I2, E1 | E2, R1 | R2>
  <I0, I1, I2, I3, E1, E2, E3, R1, R2, R3>(
    step1: Primitive<I0, I1, E1, R1>,
    step2: Primitive<I1, I2, E2, R2>,
    step3: Primitive<I2, I3, E3, R3>
  ): Primitive<I0, I3, E1 | E2 | E3, R1 | R2 | R3>
  <I0, I1, I2, I3, I4, E1, E2, E3, E4, R1, R2, R3, R4>(
    step1: Primitive<I0, I1, E1, R1>,
    step2: Primitive<I1, I2, E2, R2>,
    step3: Primitive<I2, I3, E3, R3>,
    step4: Primitive<I3, I4, E4, R4>
  ): Primitive<I0, I4, E1 | E2 | E3 | E4, R1 | R2 | R3 | R4>
  <I0, I1, I2, I3, I4, I5, E1, E2, E3, E4, E5, R1, R2, R3, R4, R5>(
    step1: Primitive<I0, I1, E1, R1>,
    step2: Primitive<I1, I2, E2, R2>,
    step3: Primitive<I2, I3, E3, R3>,
    step4: Primitive<I3, I4, E4, R4>,
    step5: Primitive<I4, I5, E5, R5>
  ): Primitive<I0, I5, E1 | E2 | E3 | E4 | E5, R1 | R2 | R3 | R4 | R5>
  <I0, I1, I2, I3, I4, I5, I6, E1, E2, E3, E4, E5, E6, R1, R2, R3, R4, R5, R6>(
    step1: Primitive<I0, I1, E1, R1>,
    step2: Primitive<I1, I2, E2, R2>,
    step3: Primitive<I2, I3, E3, R3>,
    step4: Primitive<I3, I4, E4, R4>,
    step5: Primitive<I4, I5, E5, R5>,
    step6: Primitive<I5, I6, E6, R6>
  ): Primitive<I0, I6, E1 | E2 | E3 | E4 | E5 | E6, R1 | R2 | R3 | R4 | R5 | R6>
  <I0, I1, I2, I3, I4, I5, I6, I7, E1, E2, E3, E4, E5, E6, E7, R1, R2, R3, R4, R5, R6, R7>(
    step1: Primitive<I0, I1, E1, R1>,
    step2: Primitive<I1, I2, E2, R2>,
    step3: Primitive<I2, I3, E3, R3>,
    step4: Primitive<I3, I4, E4, R4>,
    step5: Primitive<I4, I5, E5, R5>,
    step6: Primitive<I5, I6, E6, R6>,
    step7: Primitive<I6, I7, E7, R7>
  ): Primitive<I0, I7, E1 | E2 | E3 | E4 | E5 | E6 | E7, R1 | R2 | R3 | R4 | R5 | R6 | R7>
  <I0, I1, I2, I3, I4, I5, I6, I7, I8, E1, E2, E3, E4, E5, E6, E7, E8, R1, R2, R3, R4, R5, R6, R7, R8>(
    step1: Primitive<I0, I1, E1, R1>,
    step2: Primitive<I1, I2, E2, R2>,
    step3: Primitive<I2, I3, E3, R3>,
    step4: Primitive<I3, I4, E4, R4>,
    step5: Primitive<I4, I5, E5, R5>,
    step6: Primitive<I5, I6, E6, R6>,
    step7: Primitive<I6, I7, E7, R7>,
    step8: Primitive<I7, I8, E8, R8>
  ): Primitive<I0, I8, E1 | E2 | E3 | E4 | E5 | E6 | E7 | E8, R1 | R2 | R3 | R4 | R5 | R6 | R7 | R8>
  <I0, I1, I2, I3, I4, I5, I6, I7, I8, I9, E1, E2, E3, E4, E5, E6, E7, E8, E9, R1, R2, R3, R4, R5, R6, R7, R8, R9>(
    step1: Primitive<I0, I1, E1, R1>,
    step2: Primitive<I1, I2, E2, R2>,
    step3: Primitive<I2, I3, E3, R3>,
    step4: Primitive<I3, I4, E4, R4>,
    step5: Primitive<I4, I5, E5, R5>,
    step6: Primitive<I5, I6, E6, R6>,
    step7: Primitive<I6, I7, E7, R7>,
    step8: Primitive<I7, I8, E8, R8>,
    step9: Primitive<I8, I9, E9, R9>
  ): Primitive<I0, I9, E1 | E2 | E3 | E4 | E5 | E6 | E7 | E8 | E9, R1 | R2 | R3 | R4 | R5 | R6 | R7 | R8 | R9>
  <
    I0,
    I1,
    I2,
    I3,
    I4,
    I5,
    I6,
    I7,
    I8,
    I9,
    I10,
    E1,
    E2,
    E3,
    E4,
    E5,
    E6,
    E7,
    E8,
    E9,
    E10,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    R9,
    R10
  >(
    step1: Primitive<I0, I1, E1, R1>,
    step2: Primitive<I1, I2, E2, R2>,
    step3: Primitive<I2, I3, E3, R3>,
    step4: Primitive<I3, I4, E4, R4>,
    step5: Primitive<I4, I5, E5, R5>,
    step6: Primitive<I5, I6, E6, R6>,
    step7: Primitive<I6, I7, E7, R7>,
    step8: Primitive<I7, I8, E8, R8>,
    step9: Primitive<I8, I9, E9, R9>,
    step10: Primitive<I9, I10, E10, R10>
  ): Primitive<
    I0,
    I10,
    E1 | E2 | E3 | E4 | E5 | E6 | E7 | E8 | E9 | E10,
    R1 | R2 | R3 | R4 | R5 | R6 | R7 | R8 | R9 | R10
  >
  <
    I0,
    I1,
    I2,
    I3,
    I4,
    I5,
    I6,
    I7,
    I8,
    I9,
    I10,
    I11,
    E1,
    E2,
    E3,
    E4,
    E5,
    E6,
    E7,
    E8,
    E9,
    E10,
    E11,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    R9,
    R10,
    R11
  >(
    step1: Primitive<I0, I1, E1, R1>,
    step2: Primitive<I1, I2, E2, R2>,
    step3: Primitive<I2, I3, E3, R3>,
    step4: Primitive<I3, I4, E4, R4>,
    step5: Primitive<I4, I5, E5, R5>,
    step6: Primitive<I5, I6, E6, R6>,
    step7: Primitive<I6, I7, E7, R7>,
    step8: Primitive<I7, I8, E8, R8>,
    step9: Primitive<I8, I9, E9, R9>,
    step10: Primitive<I9, I10, E10, R10>,
    step11: Primitive<I10, I11, E11, R11>
  ): Primitive<
    I0,
    I11,
    E1 | E2 | E3 | E4 | E5 | E6 | E7 | E8 | E9 | E10 | E11,
    R1 | R2 | R3 | R4 | R5 | R6 | R7 | R8 | R9 | R10 | R11
  >
  <
    I0,
    I1,
    I2,
    I3,
    I4,
    I5,
    I6,
    I7,
    I8,
    I9,
    I10,
    I11,
    I12,
    E1,
    E2,
    E3,
    E4,
    E5,
    E6,
    E7,
    E8,
    E9,
    E10,
    E11,
    E12,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    R9,
    R10,
    R11,
    R12
  >(
    step1: Primitive<I0, I1, E1, R1>,
    step2: Primitive<I1, I2, E2, R2>,
    step3: Primitive<I2, I3, E3, R3>,
    step4: Primitive<I3, I4, E4, R4>,
    step5: Primitive<I4, I5, E5, R5>,
    step6: Primitive<I5, I6, E6, R6>,
    step7: Primitive<I6, I7, E7, R7>,
    step8: Primitive<I7, I8, E8, R8>,
    step9: Primitive<I8, I9, E9, R9>,
    step10: Primitive<I9, I10, E10, R10>,
    step11: Primitive<I10, I11, E11, R11>,
    step12: Primitive<I11, I12, E12, R12>
  ): Primitive<
    I0,
    I12,
    E1 | E2 | E3 | E4 | E5 | E6 | E7 | E8 | E9 | E10 | E11 | E12,
    R1 | R2 | R3 | R4 | R5 | R6 | R7 | R8 | R9 | R10 | R11 | R12
  >
  <const Steps extends readonly [Primitive.Any, ...Array<Primitive.Any>]>(
    ...steps: Steps extends ValidSequence<Steps> ? Steps : ValidSequence<Steps>
  ): Primitive<Input<Steps[0]>, Output<Last<Steps>>, Error<Steps[number]>, Context<Steps[number]>>
}
