/**
 * Adam (Kingma & Ba, 2015) over a set of flat float64 parameter arrays, with the paper's default betas.
 * Used for full-batch training: one `step` per pass over the whole training set.
 */
export interface Adam {
  step(params: Float64Array[], grads: Float64Array[]): void;
}

export function createAdam(learningRate: number, shapes: readonly number[]): Adam {
  const beta1 = 0.9;
  const beta2 = 0.999;
  const epsilon = 1e-8;
  const m = shapes.map((n) => new Float64Array(n));
  const v = shapes.map((n) => new Float64Array(n));
  let decay1 = 1;
  let decay2 = 1;
  return {
    step(params, grads) {
      // beta^t by repeated multiplication: plain IEEE arithmetic, identical on every platform.
      decay1 *= beta1;
      decay2 *= beta2;
      const correction1 = 1 - decay1;
      const correction2 = 1 - decay2;
      params.forEach((p, k) => {
        const g = grads[k] as Float64Array;
        const mk = m[k] as Float64Array;
        const vk = v[k] as Float64Array;
        for (let i = 0; i < p.length; i++) {
          const gi = g[i] as number;
          mk[i] = beta1 * (mk[i] as number) + (1 - beta1) * gi;
          vk[i] = beta2 * (vk[i] as number) + (1 - beta2) * gi * gi;
          p[i] =
            (p[i] as number) -
            (learningRate * ((mk[i] as number) / correction1)) /
              (Math.sqrt((vk[i] as number) / correction2) + epsilon);
        }
      });
    },
  };
}
