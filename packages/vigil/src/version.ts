/** Vigil's version, as in its package.json: `vigil --version`, exported rule files, baselines. */
export const VERSION = '0.1.0';
