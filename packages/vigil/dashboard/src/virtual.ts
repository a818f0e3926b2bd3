/**
 * A list virtualised against the page's scroll (TanStack Virtual's framework-agnostic core, wired to
 * Preact as its React adapter wires it to React): only the items in and near the viewport are
 * rendered, each measured once on screen (ResizeObserver), the rest estimated.
 */
import {
  observeWindowOffset,
  observeWindowRect,
  Virtualizer,
  type VirtualizerOptions,
  windowScroll,
} from '@tanstack/virtual-core';
import { useLayoutEffect, useReducer, useState } from 'preact/hooks';

/** What the caller sets; the window's scrolling is wired in. */
export type WindowVirtualizerOptions = Pick<
  VirtualizerOptions<Window, HTMLElement>,
  'count' | 'estimateSize' | 'getItemKey' | 'overscan' | 'gap' | 'scrollMargin'
>;

/**
 * A virtualizer over the window's scroll; the calling component re-renders when the visible range or
 * a measured size changes. Give each rendered item's element `ref={virtualizer.measureElement}` and
 * `data-index={item.index}` for it to be measured.
 */
export function useWindowVirtualizer(options: WindowVirtualizerOptions): Virtualizer<Window, HTMLElement> {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const resolved: VirtualizerOptions<Window, HTMLElement> = {
    getScrollElement: () => window,
    observeElementRect: observeWindowRect,
    observeElementOffset: observeWindowOffset,
    scrollToFn: windowScroll,
    initialOffset: () => window.scrollY,
    ...options,
    onChange: () => rerender(undefined),
  };
  const [virtualizer] = useState(() => new Virtualizer(resolved));
  virtualizer.setOptions(resolved);
  useLayoutEffect(() => virtualizer._didMount(), [virtualizer]);
  useLayoutEffect(() => virtualizer._willUpdate());
  return virtualizer;
}
