// Scrolls the page to its top once, when mounted (ui/widgets.py `scroll_to_top`): a lesson step shown
// from a button at the bottom of the last one starts at its own top, as a new page would.
export default function () {
  const main = document.querySelector('[data-testid="stMain"]');
  if (main) main.scrollTo({ top: 0 });
  window.scrollTo({ top: 0 });
}
