/**
 * The part of jStat (https://github.com/jstat/jstat, MIT) that Vigil uses; the package ships no types.
 */
declare module 'jstat' {
  const jStat: {
    studentt: {
      /** Quantile function of Student's t distribution with `dof` degrees of freedom, at probability `p`. */
      inv(p: number, dof: number): number;
    };
  };
  export default jStat;
}
