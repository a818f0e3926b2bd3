/** proxy-from-env ships no types: the one function Vigil calls. */
declare module 'proxy-from-env' {
  /**
   * The proxy URL for `url` from `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY` (and lower case), or `''`
   * when none applies or `NO_PROXY` exempts the host.
   */
  export function getProxyForUrl(url: string): string;
}
